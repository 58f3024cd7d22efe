/// Seconds from enqueue to delivery, counted into cumulative buckets the way a Prometheus histogram is exposed.
public struct LatencyHistogram: Sendable, Equatable {
    public static let defaultBounds: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

    /// Upper bounds, increasing; the `+Inf` bucket is `count`.
    public let bounds: [Double]
    /// Observations at or below each bound, one per bound.
    public private(set) var cumulativeCounts: [UInt64]
    public private(set) var sum: Double = 0
    public private(set) var count: UInt64 = 0

    public init(bounds: [Double] = LatencyHistogram.defaultBounds) {
        self.bounds = bounds
        cumulativeCounts = Array(repeating: 0, count: bounds.count)
    }

    mutating func observe(_ seconds: Double) {
        sum += seconds
        count += 1
        for index in bounds.indices.reversed() {
            guard seconds <= bounds[index] else { break }
            cumulativeCounts[index] += 1
        }
    }
}
