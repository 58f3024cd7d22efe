import Clocks
import Foundation

/// Posts alerts to an HTTP endpoint in Alertmanager's webhook format, one POST per group.
public struct WebhookReceiver: AlertReceiver {
    public let name: String
    public let config: WebhookConfig
    private let url: URL
    private let poster: JSONPoster

    /// `now` gives Unix seconds, to read a `Retry-After` date.
    public init(
        name: String, config: WebhookConfig, now: @escaping @Sendable () -> Double = { WallClock().now() }
    ) throws(ReceiverConfigError) {
        self.name = name
        self.config = config
        url = try ReceiverURL.parse(config.url, receiver: name)
        guard config.timeout > 0 else { throw ReceiverConfigError(receiver: name, reason: "timeout must be positive") }
        poster = JSONPoster(timeout: config.timeout, authorization: config.authorization, now: now)
    }

    /// Every group is posted even when one fails; a failure is retryable if any failed group's was, since
    /// retrying then may help (the groups that did arrive are sent again: delivery is at least once).
    public func deliver(_ batch: [AlertNotification]) throws(DeliveryError) {
        let wanted = config.sendResolved ? batch : batch.filter { $0.status == .firing }
        guard !wanted.isEmpty else { return }
        let messages = WebhookMessage.groups(wanted, groupBy: config.groupBy, receiver: name, externalURL: config.externalURL)
        var requests: [JSONPoster.Request] = []
        for message in messages {
            requests.append(JSONPoster.Request(url: url, body: try DeliveryJSON.encode(message)))
        }
        let failures = poster.post(requests).compactMap { $0 }
        if let failure = failures.first(where: \.retryable) ?? failures.first { throw failure }
    }

    /// Ends a POST in flight at once and fails later ones: shutdown is past its grace.
    public func cancelDeliveries() { poster.cancel() }
}
