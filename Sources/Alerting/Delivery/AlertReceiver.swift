/// Something that delivers alert notifications: Alertmanager, a webhook, a command, the log.
public protocol AlertReceiver: Sendable {
    /// The receiver's name from the config, used in routes and in metric labels.
    var name: String { get }
    /// Delivers one batch of notifications, blocking until done or failed; called from one worker thread at a time.
    func deliver(_ batch: [AlertNotification]) throws(DeliveryError)
    /// Ends a delivery in flight at once (it fails) and fails later ones at once: the dispatcher calls it at
    /// shutdown when the grace is over. Called from another thread than `deliver`'s.
    func cancelDeliveries()
}

extension AlertReceiver {
    /// Receivers that finish quickly anyway (the log) need not cancel.
    public func cancelDeliveries() {}
}

/// Why a delivery failed, and whether trying again may help (5xx, timeouts: yes; 4xx: no).
public struct DeliveryError: Error, Sendable, Equatable, CustomStringConvertible {
    public var retryable: Bool
    public var message: String
    /// The HTTP status the receiver answered, when it answered at all.
    public var statusCode: Int?
    /// Seconds the receiver asked us to wait before trying again (`Retry-After` on a 429 or 503).
    public var retryAfter: Double?

    public init(retryable: Bool, _ message: String, statusCode: Int? = nil) {
        self.retryable = retryable
        self.message = message
        self.statusCode = statusCode
    }

    public var description: String { message }
}

/// A receiver's config that cannot work (no URL, a malformed URL, an empty argv), refused when the receiver is built.
public struct ReceiverConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    public var receiver: String
    public var reason: String

    public init(receiver: String, reason: String) {
        self.receiver = receiver
        self.reason = reason
    }

    public var description: String { "receiver \(receiver): \(reason)" }
}
