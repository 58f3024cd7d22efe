/// The outcome a notification is counted under, the `result` label of `progress_exporter_alert_notifications_total`.
public enum DeliveryResult: String, Sendable, CaseIterable {
    /// Delivered.
    case success
    /// A retryable failure of a batch; counted once per retry, not per notification.
    case retried
    /// Given up on: the receiver refused the batch for good, or kept failing for longer than the retry limit.
    case failed
    /// Pushed out of a full queue, or still queued when the dispatcher stopped.
    case dropped
}

/// One receiver's delivery counters, latency and queue length at one moment.
public struct ReceiverDeliveryStats: Sendable, Equatable {
    public let receiver: String
    /// Notifications, except `retried`, which counts batch retries.
    public internal(set) var success: UInt64 = 0
    public internal(set) var retried: UInt64 = 0
    public internal(set) var failed: UInt64 = 0
    public internal(set) var dropped: UInt64 = 0
    /// Seconds from enqueue to successful delivery, per notification.
    public internal(set) var latency: LatencyHistogram
    /// Notifications waiting, the batch being delivered included.
    public internal(set) var queueLength = 0

    init(receiver: String, latencyBounds: [Double]) {
        self.receiver = receiver
        latency = LatencyHistogram(bounds: latencyBounds)
    }

    public subscript(result: DeliveryResult) -> UInt64 {
        switch result {
        case .success: success
        case .retried: retried
        case .failed: failed
        case .dropped: dropped
        }
    }
}

/// Every receiver's delivery stats, in the order the receivers were given, for the exporter's self-metrics.
public struct DeliveryStats: Sendable, Equatable {
    public let receivers: [ReceiverDeliveryStats]

    public subscript(receiver name: String) -> ReceiverDeliveryStats? {
        receivers.first { $0.receiver == name }
    }
}
