import Synchronization
import Tracking

/// A clock the test moves by hand.
final class ManualClock: TimeSource {
    private let current: Mutex<Double>
    init(_ start: Double = 1_800_000_000) { current = Mutex(start) }
    func now() -> Double { current.withLock { $0 } }
    func advance(_ seconds: Double) { current.withLock { $0 += seconds } }
    func set(_ time: Double) { current.withLock { $0 = time } }
}
