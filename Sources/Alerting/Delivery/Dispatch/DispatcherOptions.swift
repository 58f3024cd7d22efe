import Clocks
import Foundation
import Tracking

/// How the dispatcher queues, batches and retries; the defaults suit a live exporter, tests shrink the times.
public struct DispatcherOptions: Sendable {
    /// Notifications (not requests) each receiver's queue holds before the oldest are dropped. The queue keeps at most
    /// one firing and one resolved notification per alert, so it grows with the alerts the engine holds anyway; the
    /// bound is for a long outage of the receiver while alerts come and go. Thousands of alerts at once (a fleet of
    /// agents stalling together) must fit: at 1000, 5000 stalled agents lost 80 % of their notifications.
    public var queueCapacity: Int
    /// Notifications handed to a receiver in one delivery: one POST to each Alertmanager (its API takes an array,
    /// and Prometheus batches 256 the same way), one POST per group to a webhook, one run of a command.
    public var maxBatchSize: Int
    public var backoff: RetryBackoff
    /// Seconds a batch is retried before it is given up as failed; the evaluator re-sends firing alerts anyway, and a
    /// bound keeps one dead receiver from holding stale alerts forever.
    public var maxRetryDuration: Double
    /// The longest pause a receiver's `Retry-After` can ask for before the next try; a longer one is cut to this.
    public var maxRetryAfter: Double = 60
    /// Seconds `stop()` keeps delivering what is queued; then a delivery still in flight is cancelled
    /// (`AlertReceiver.cancelDeliveries()`) and the rest is counted as dropped (`--alerting.shutdown-grace`).
    public var stopGrace: Double
    public var latencyBounds: [Double]
    /// Where the lanes take the time for latency, backoff, retry limits and the stop deadline; only differences
    /// count. A test's manual clock drives them (call `NotificationDispatcher.clockAdvanced()` after moving it).
    public var clock: any TimeSource
    /// Told of every failed delivery (receiver name, error, whether it will be retried), e.g. to log it.
    public var onFailure: (@Sendable (_ receiver: String, _ error: DeliveryError, _ willRetry: Bool) -> Void)?

    public init(
        queueCapacity: Int = 50_000, maxBatchSize: Int = 256, backoff: RetryBackoff = RetryBackoff(),
        maxRetryDuration: Double = 3600, stopGrace: Double = 5, latencyBounds: [Double] = LatencyHistogram.defaultBounds,
        clock: any TimeSource = MonotonicClock(),
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

}
