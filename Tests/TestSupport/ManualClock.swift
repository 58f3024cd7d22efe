import Clocks
import Synchronization
import Tracking

/// A clock the test moves by hand.
public final class ManualClock: TimeSource {
    private let current: Mutex<Double>
    public init(_ start: Double = 1_800_000_000) { current = Mutex(start) }
    public func now() -> Double { current.withLock { $0 } }
    public func advance(_ seconds: Double) { current.withLock { $0 += seconds } }
    public func set(_ time: Double) { current.withLock { $0 = time } }
}
