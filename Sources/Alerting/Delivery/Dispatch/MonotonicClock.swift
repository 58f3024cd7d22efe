import Foundation
import Tracking

/// Seconds since boot: immune to wall-clock steps, so only differences mean anything. The delivery lanes' default
/// clock (a `TimeSource` whose `now()` is not Unix time: queue latency, backoff and deadlines only subtract it).
public struct MonotonicClock: TimeSource {
    public init() {}
    public func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
}
