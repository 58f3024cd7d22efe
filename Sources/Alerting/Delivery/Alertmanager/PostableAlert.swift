/// One element of the JSON array `POST /api/v2/alerts` takes (Alertmanager's `postableAlert`).
struct PostableAlert: Encodable, Equatable {
    var labels: [String: String]
    var annotations: [String: String]
    var startsAt: String
    var endsAt: String
    var generatorURL: String

    /// A firing alert ends `4 x resendInterval` after `now` unless re-sent; a resolved one at its resolve time.
    init(_ notification: AlertNotification, now: Double, resendInterval: Double) {
        labels = notification.labels
        annotations = notification.annotations
        startsAt = RFC3339Text.milliseconds(notification.startsAt)
        let end: Double = switch notification.status {
        case .firing: now + 4 * resendInterval
        case .resolved: notification.endsAt ?? now
        }
        endsAt = RFC3339Text.milliseconds(end)
        generatorURL = notification.generatorURL
    }
}
