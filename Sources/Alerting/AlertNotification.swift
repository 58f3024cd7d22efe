import Events

/// One alert as receivers see it, in Alertmanager's model: identity is the label set.
public struct AlertNotification: Sendable, Equatable {
    public enum Status: String, Sendable {
        case firing, resolved
    }

    /// Includes `alertname`, `severity`, `job_name`, and `agent` for agent alerts, plus the rule's extra labels.
    public var labels: [String: String]
    public var annotations: [String: String]
    public var status: Status
    /// Unix seconds the alert became active (pending), as Prometheus reports `startsAt`.
    public var startsAt: Double
    /// Unix seconds it resolved; nil while firing (the Alertmanager receiver sets now + 4 x resend interval).
    public var endsAt: Double?
    /// Link back to the exporter, e.g. `http://host:9465/api/v1/alerts`.
    public var generatorURL: String

    public init(
        labels: [String: String], annotations: [String: String], status: Status, startsAt: Double,
        endsAt: Double? = nil, generatorURL: String
    ) {
        self.labels = labels
        self.annotations = annotations
        self.status = status
        self.startsAt = startsAt
        self.endsAt = endsAt
        self.generatorURL = generatorURL
    }

    /// A stable identity of the label set (hex FNV-1a 64 over the sorted pairs), as Alertmanager's fingerprint.
    public var fingerprint: String {
        var hasher = FNV1a()
        for (name, value) in labels.sorted(by: { $0.key < $1.key }) {
            hasher.add(name.utf8)
            hasher.add(byte: 0xff)
            hasher.add(value.utf8)
            hasher.add(byte: 0xfe)
        }
        let hex = String(hasher.value, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
