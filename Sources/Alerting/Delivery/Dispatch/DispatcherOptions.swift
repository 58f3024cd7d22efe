import Foundation

/// How the dispatcher queues, batches and retries; the defaults suit a live exporter, tests shrink the times.
public struct DispatcherOptions: Sendable {
    /// Notifications each receiver's queue holds before the oldest are dropped.
    public var queueCapacity: Int
    /// Notifications handed to a receiver in one delivery.
    public var maxBatchSize: Int
    public var backoff: RetryBackoff
    /// Seconds a batch is retried before it is given up as failed; the evaluator re-sends firing alerts anyway, and a
    /// bound keeps one dead receiver from holding stale alerts forever.
    public var maxRetryDuration: Double
    /// Seconds `stop()` keeps delivering what is queued.
    public var stopGrace: Double
    public var latencyBounds: [Double]
    /// Monotonic seconds for latency and retry limits.
    public var clock: @Sendable () -> Double
    /// Told of every failed delivery (receiver name, error, whether it will be retried), e.g. to log it.
    public var onFailure: (@Sendable (_ receiver: String, _ error: DeliveryError, _ willRetry: Bool) -> Void)?

    public init(
        queueCapacity: Int = 1000, maxBatchSize: Int = 64, backoff: RetryBackoff = RetryBackoff(),
        maxRetryDuration: Double = 3600, stopGrace: Double = 2, latencyBounds: [Double] = LatencyHistogram.defaultBounds,
        clock: @escaping @Sendable () -> Double = DispatcherOptions.monotonicSeconds,
        onFailure: (@Sendable (_ receiver: String, _ error: DeliveryError, _ willRetry: Bool) -> Void)? = nil
    ) {
        self.queueCapacity = queueCapacity
        self.maxBatchSize = maxBatchSize
        self.backoff = backoff
        self.maxRetryDuration = maxRetryDuration
        self.stopGrace = stopGrace
        self.latencyBounds = latencyBounds
        self.clock = clock
        self.onFailure = onFailure
    }

    /// Seconds since boot, immune to wall-clock steps.
    public static let monotonicSeconds: @Sendable () -> Double = {
        Double(DispatchTime.now().uptimeNanoseconds) / 1e9
    }
}
