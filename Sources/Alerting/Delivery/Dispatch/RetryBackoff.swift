import Foundation

/// Exponential backoff with full jitter: before retry n, wait a random time up to `min(maximum, initial x factor^(n-1))`.
public struct RetryBackoff: Sendable {
    public var initial: Double
    public var factor: Double
    public var maximum: Double
    /// A number in [0, 1); injectable so tests get fixed delays.
    public var random: @Sendable () -> Double

    public init(
        initial: Double = 0.5, factor: Double = 2, maximum: Double = 30,
        random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }
    ) {
        self.initial = initial
        self.factor = factor
        self.maximum = maximum
        self.random = random
    }

    /// Seconds to wait before retry `attempt` (1 for the first retry).
    public func delay(beforeRetry attempt: Int) -> Double {
        // Capping the exponent keeps the power finite however long a receiver stays down.
        let ceiling = min(maximum, initial * pow(factor, Double(min(max(attempt, 1) - 1, 64))))
        return ceiling * random()
    }
}
