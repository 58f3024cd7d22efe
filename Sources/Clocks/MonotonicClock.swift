/// The program's one monotonic clock, Swift's `ContinuousClock` (on Linux `CLOCK_BOOTTIME`): it never
/// steps when the wall clock is set, so waits, deadlines, timeouts and backoff measured on it keep their
/// length. Its `now()` is seconds since an arbitrary start early in the process; only differences mean
/// anything.
public struct MonotonicClock: TimeSource {
    /// The start every reading counts from (set on first use).
    private static let origin = ContinuousClock.now

    public init() {}

    public func now() -> Double { Self.origin.duration(to: .now).seconds }

    /// The current instant, for code that keeps `ContinuousClock.Instant`s.
    public static var instant: ContinuousClock.Instant { .now }

    /// Whole nanoseconds since the start: cheap integer arithmetic for hot paths (lock hold times).
    public static func nanoseconds() -> UInt64 {
        let elapsed = origin.duration(to: .now).components
        return UInt64(max(0, elapsed.seconds)) &* 1_000_000_000 &+ UInt64(max(0, elapsed.attoseconds) / 1_000_000_000)
    }
}

extension Duration {
    /// The duration in seconds, as a `Double`.
    public var seconds: Double {
        let parts = components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }
}
