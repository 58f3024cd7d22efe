/// A rule's condition holding for one job or agent at one evaluation: the alert's identity and values.
public struct AlertCondition: Sendable, Equatable {
    /// alertname, severity, job_name, agent (agent rules), then the rule's extra labels.
    public var labels: [String: String]
    /// Annotation templates and the values they name; expanded only when read (a notification or
    /// the API), not on every evaluation of every alert.
    var templates: [String: String]
    var templateValues: [String: String]
    public var annotations: [String: String] {
        templates.mapValues { AnnotationTemplate.expand($0, labels: labels, values: templateValues) }
    }
    /// The number that crossed the threshold (seconds quiet, failures, seconds late...).
    public var value: Double
    /// How long the condition must hold before the alert fires.
    public var forDuration: Double

    init(labels: [String: String], templates: [String: String], templateValues: [String: String], value: Double, forDuration: Double) {
        self.labels = labels
        self.templates = templates
        self.templateValues = templateValues
        self.value = value
        self.forDuration = forDuration
    }

    /// A condition with fixed annotations.
    public init(labels: [String: String], annotations: [String: String], value: Double, forDuration: Double) {
        self.init(labels: labels, templates: annotations, templateValues: [:], value: value, forDuration: forDuration)
    }

    /// The identity of an alert: its labels in name order.
    public var key: AlertKey { AlertKey(labels) }
}

/// An alert's identity: its label set, sorted, so equal sets compare equal.
public struct AlertKey: Hashable, Sendable, Comparable {
    public let pairs: [LabelPair]

    public struct LabelPair: Hashable, Sendable {
        public let name: String
        public let value: String
    }

    public init(_ labels: [String: String]) {
        pairs = labels.sorted { $0.key < $1.key }.map { LabelPair(name: $0.key, value: $0.value) }
    }

    public static func < (a: AlertKey, b: AlertKey) -> Bool {
        for (x, y) in zip(a.pairs, b.pairs) where x != y {
            return x.name != y.name ? x.name < y.name : x.value < y.value
        }
        return a.pairs.count < b.pairs.count
    }
}
