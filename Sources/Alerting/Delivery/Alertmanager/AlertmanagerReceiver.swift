import Clocks
import Foundation

/// Sends alerts to one or more Alertmanagers through their API v2 (`POST /api/v2/alerts`).
public struct AlertmanagerReceiver: AlertReceiver {
    public let name: String
    public let config: AlertmanagerConfig
    private let endpoints: [URL]
    private let poster: JSONPoster
    private let now: @Sendable () -> Double

    /// `now` gives Unix seconds; it sets a firing alert's `endsAt`.
    public init(
        name: String, config: AlertmanagerConfig, now: @escaping @Sendable () -> Double = { WallClock().now() }
    ) throws(ReceiverConfigError) {
        self.name = name
        self.config = config
        self.now = now
        guard !config.urls.isEmpty else { throw ReceiverConfigError(receiver: name, reason: "no Alertmanager URL") }
        guard config.timeout > 0 else { throw ReceiverConfigError(receiver: name, reason: "timeout must be positive") }
        guard config.resendInterval > 0 else {
            throw ReceiverConfigError(receiver: name, reason: "resend interval must be positive")
        }
        var endpoints: [URL] = []
        for text in config.urls {
            endpoints.append(try ReceiverURL.parse(text, receiver: name).appendingPathComponent("api/v2/alerts"))
        }
        self.endpoints = endpoints
        poster = JSONPoster(timeout: config.timeout, now: now)
    }

    /// Delivered when at least one Alertmanager took the batch: they share alerts among themselves through
    /// gossip, and Prometheus counts it the same way.
    public func deliver(_ batch: [AlertNotification]) throws(DeliveryError) {
        guard !batch.isEmpty else { return }
        let time = now()
        let alerts = batch.map { PostableAlert($0, now: time, resendInterval: config.resendInterval) }
        let body = try DeliveryJSON.encode(alerts)
        let outcomes = poster.post(endpoints.map { JSONPoster.Request(url: $0, body: body) })
        guard !outcomes.contains(where: { $0 == nil }) else { return }
        let failures = outcomes.compactMap { $0 }
        let retryable = failures.contains(where: \.retryable)
        let summary = failures.map(\.message).joined(separator: "; ")
        var error = DeliveryError(retryable: retryable, summary, statusCode: failures.count == 1 ? failures[0].statusCode : nil)
        // Every Alertmanager refused: wait as long as the one that asked for the shortest pause.
        error.retryAfter = failures.compactMap(\.retryAfter).min()
        throw error
    }

    /// Ends a POST in flight at once and fails later ones: shutdown is past its grace.
    public func cancelDeliveries() { poster.cancel() }
}
