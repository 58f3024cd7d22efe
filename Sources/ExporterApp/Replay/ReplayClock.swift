import Clocks
import Synchronization
import Tracking

/// The replay's "now": event time, never the wall clock. The replay moves it to each batch's newest
/// event time before the batch is applied, so the store, the ETC and the alert rules see the time
/// the live exporter saw when those events arrived. It never goes back (events may be out of order).
public final class ReplayClock: TimeSource {
    private let current: Mutex<Double>

    public init(_ start: Double = 0) { current = Mutex(start) }

    public func now() -> Double { current.withLock { $0 } }

    /// Moves the clock forward to `time`; an earlier time leaves it where it is.
    public func advance(to time: Double) {
        current.withLock { $0 = max($0, time) }
    }
}
