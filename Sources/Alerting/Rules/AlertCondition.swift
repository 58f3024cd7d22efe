import Events
import Foundation

/// A rule's condition holding for one job or agent at one evaluation: the alert's identity and values.
public struct AlertCondition: Sendable, Equatable {
    /// alertname, severity, job_name, agent (agent rules), then the rule's extra labels.
    public var labels: [String: String] {
        didSet { key = AlertKey(labels) }
    }
    /// The identity of an alert: its labels in name order. Made once with the condition: the state
    /// machine looks every holding condition up by it on every evaluation.
    public private(set) var key: AlertKey
    /// Annotation templates and the values they name; expanded only when read (a notification or
    /// the API), not on every evaluation of every alert.
    var templates: [String: String]
    var templateValues: AnnotationValues
    public var annotations: [String: String] {
        templates.mapValues { AnnotationTemplate.expand($0, labels: labels, values: templateValues) }
    }
    /// The number that crossed the threshold (seconds quiet, failures, seconds late...).
    public var value: Double
    /// How long the condition must hold before the alert fires.
    public var forDuration: Double
    /// How long a firing alert stays firing after the condition stopped holding.
    public var keepFiringFor: Double

    init(labels: [String: String], templates: [String: String], templateValues: AnnotationValues, value: Double, forDuration: Double,
         keepFiringFor: Double = 0) {
        self.labels = labels
        key = AlertKey(labels)
        self.templates = templates
        self.templateValues = templateValues
        self.value = value
        self.forDuration = forDuration
        self.keepFiringFor = keepFiringFor
    }

    /// A condition with fixed annotations.
    public init(labels: [String: String], annotations: [String: String], value: Double, forDuration: Double, keepFiringFor: Double = 0) {
        self.init(labels: labels, templates: annotations, templateValues: AnnotationValues(), value: value, forDuration: forDuration,
                  keepFiringFor: keepFiringFor)
    }
}

/// What `{{value}}` and `{{threshold}}` say, kept as the numbers they show and written out only
/// when an annotation is read. During an alert storm every holding condition is built again on every
/// evaluation (its values follow the latest one), and formatting them all (`String(format:)` above
/// all) was a tenth of the exporter's CPU; annotations are read only by notifications and the API.
struct AnnotationValues: Sendable, Equatable {
    enum Text: Sendable, Equatable {
        case literal(String)
        /// `6m 12s`
        case duration(Double)
        /// `6m 12s late`
        case late(Double)
        /// `\(count)`, as Swift writes an integer or a double.
        case integer(Int)
        case number(Double)
        case itemsRemain(Int64)
        case failuresInARow(Int)
        case failedOf(failed: UInt64, total: UInt64)
        /// agent_slow: an item running `age` seconds against the job's median item duration.
        case itemAge(age: Double, median: Double)
        /// agent_slow: an agent `times` slower than its peers' median.
        case slowerThanPeers(times: Double, finishedAny: Bool)
        case medianFactor(Double)
        case slowestQuantile(factor: Double, quantile: Double)

        var string: String {
            switch self {
            case .literal(let text): return text
            case .duration(let seconds): return DurationText.short(seconds)
            case .late(let seconds): return DurationText.short(seconds) + " late"
            case .integer(let count): return "\(count)"
            case .number(let number): return "\(number)"
            case .itemsRemain(let remaining): return "\(remaining) items remain"
            case .failuresInARow(let count): return "\(count) failures in a row"
            case .failedOf(let failed, let total): return "\(failed) of \(total) attempts failed"
            case .itemAge(let age, let median):
                return "its item has run \(AnnotationValues.seconds(age)), \(AnnotationValues.times(age / median)) the median \(AnnotationValues.seconds(median))"
            case .slowerThanPeers(let times, let finishedAny):
                return finishedAny ? "it finishes items \(AnnotationValues.times(times)) slower than its peers' median" : "it finished no item in 5m while its peers did"
            case .medianFactor(let factor): return "\(factor)x the median item duration"
            case .slowestQuantile(let factor, let quantile): return "\(factor)x slower than the median and in the slowest \(Int(quantile * 100)) %"
            }
        }
    }

    /// A duration that may be short: `450ms`, `2.5s`, then as `DurationText.short` (`40s`, `6m 12s`),
    /// so a median of half a second does not read as `1s`.
    static func seconds(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "\(seconds)s" }
        if seconds < 1 { return "\(Int((seconds * 1000).rounded()))ms" }
        if seconds < 10 {
            let tenths = (seconds * 10).rounded() / 10
            return tenths == tenths.rounded() ? "\(Int(tenths))s" : String(format: "%.1fs", tenths)
        }
        return DurationText.short(seconds)
    }

    /// A ratio as `2.5x` below 10 and `15x` from there: a tenth of a 40-fold ratio is noise.
    static func times(_ ratio: Double) -> String {
        guard ratio.isFinite else { return "\(ratio)x" }
        return ratio < 10 ? String(format: "%.1fx", ratio) : "\(Int(ratio.rounded()))x"
    }

    var value: Text?
    var threshold: Text?
    /// Values of other names (only from a snapshot written by another version).
    var others: [String: String] = [:]

    init(value: Text? = nil, threshold: Text? = nil) {
        self.value = value
        self.threshold = threshold
    }

    /// Values restored as text.
    init(_ strings: [String: String]) {
        var others = strings
        value = others.removeValue(forKey: "value").map(Text.literal)
        threshold = others.removeValue(forKey: "threshold").map(Text.literal)
        self.others = others
    }

    subscript(name: String) -> String? {
        switch name {
        case "value": return value?.string
        case "threshold": return threshold?.string
        default: return others[name]
        }
    }

    /// Every value as text, by name.
    var strings: [String: String] {
        var out = others
        if let value { out["value"] = value.string }
        if let threshold { out["threshold"] = threshold.string }
        return out
    }
}

/// An alert's identity: its label set, sorted, so equal sets compare equal.
public struct AlertKey: Hashable, Sendable, Comparable {
    public let pairs: [LabelPair]
    /// The pairs' hash, computed once: a key is hashed several times per evaluation (the state
    /// machine's lookups), each of which hashed every label's name and value.
    private let hash: Int

    public struct LabelPair: Hashable, Sendable {
        public let name: String
        public let value: String
    }

    public init(_ labels: [String: String]) {
        pairs = labels.sorted { $0.key < $1.key }.map { LabelPair(name: $0.key, value: $0.value) }
        hash = pairs.hashValue
    }

    public static func == (a: AlertKey, b: AlertKey) -> Bool { a.hash == b.hash && a.pairs == b.pairs }

    public func hash(into hasher: inout Hasher) { hasher.combine(hash) }

    public static func < (a: AlertKey, b: AlertKey) -> Bool {
        for (x, y) in zip(a.pairs, b.pairs) where x != y {
            return x.name != y.name ? x.name < y.name : x.value < y.value
        }
        return a.pairs.count < b.pairs.count
    }
}
