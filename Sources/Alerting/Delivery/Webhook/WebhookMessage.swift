/// Alertmanager's webhook payload, version 4: one group of alerts and what they share.
struct WebhookMessage: Encodable, Equatable {
    /// One alert as Alertmanager's webhook template data shows it.
    struct Alert: Encodable, Equatable {
        var status: String
        var labels: [String: String]
        var annotations: [String: String]
        var startsAt: String
        var endsAt: String
        var generatorURL: String
        var fingerprint: String

        init(_ notification: AlertNotification) {
            status = notification.status.rawValue
            labels = notification.labels
            annotations = notification.annotations
            startsAt = RFC3339Text.milliseconds(notification.startsAt)
            // Alertmanager leaves a firing alert's end unset, which Go renders as the zero time.
            endsAt = notification.status == .firing || notification.endsAt == nil
                ? RFC3339Text.zeroTime : RFC3339Text.milliseconds(notification.endsAt!)
            generatorURL = notification.generatorURL
            fingerprint = notification.fingerprint
        }
    }

    let version = "4"
    var groupKey: String
    var truncatedAlerts = 0
    var status: String
    var receiver: String
    var groupLabels: [String: String]
    var commonLabels: [String: String]
    var commonAnnotations: [String: String]
    var externalURL: String
    var alerts: [Alert]

    /// `notifications` must not be empty: a group exists because it has alerts.
    init(receiver: String, groupLabels: [String: String], notifications: [AlertNotification], externalURL: String) {
        self.receiver = receiver
        self.groupLabels = groupLabels
        self.externalURL = externalURL
        // Like Alertmanager's root route: "{}" then the group's labels.
        groupKey = "{}:" + Self.render(groupLabels)
        status = notifications.contains { $0.status == .firing } ? "firing" : "resolved"
        commonLabels = Self.common(notifications.map(\.labels))
        commonAnnotations = Self.common(notifications.map(\.annotations))
        alerts = notifications.map(Alert.init)
    }

    /// One message per distinct combination of `groupBy` label values, in the order groups first appear;
    /// a label an alert lacks is left out of its group labels, as Alertmanager does. `job` groups by
    /// `job_name` on alerts without a `job` label (the name before 2026-11), under the name `job`.
    static func groups(
        _ notifications: [AlertNotification], groupBy: [String], receiver: String, externalURL: String
    ) -> [WebhookMessage] {
        var order: [[String: String]] = []
        var members: [[String: String]: [AlertNotification]] = [:]
        for notification in notifications {
            var key: [String: String] = [:]
            for name in groupBy {
                if let value = AlertLabels.value(name, in: notification.labels) { key[name] = value }
            }
            if members[key] == nil { order.append(key) }
            members[key, default: []].append(notification)
        }
        return order.map {
            WebhookMessage(receiver: receiver, groupLabels: $0, notifications: members[$0]!, externalURL: externalURL)
        }
    }

    /// The pairs every map has with the same value.
    private static func common(_ maps: [[String: String]]) -> [String: String] {
        guard var shared = maps.first else { return [:] }
        for map in maps.dropFirst() {
            shared = shared.filter { map[$0.key] == $0.value }
        }
        return shared
    }

    /// `{job_name="etl", severity="warning"}` as Prometheus's model prints a label set.
    private static func render(_ labels: [String: String]) -> String {
        let pairs = labels.sorted { $0.key < $1.key }.map { name, value in
            let escaped = value.replacingOccurrences(of: "\\", with: "\\\\")
                .replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
            return "\(name)=\"\(escaped)\""
        }
        return "{" + pairs.joined(separator: ", ") + "}"
    }
}
