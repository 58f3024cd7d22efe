/// Counters of what arrived, by source and by reason, for the exporter's self-metrics.
struct IngestStats {
    var received: [String: UInt64] = [:]
    var rejected: [String: UInt64] = [:]
    var ignored: [String: UInt64] = [:]
    var lastEventTime: [String: Double] = [:]
    var duplicates: UInt64 = 0
    var untrackedAgentEvents: UInt64 = 0
    var untrackedJobEvents: UInt64 = 0

    /// Distinct `kind` label values of ignored events before the rest count as `other`.
    static let maxIgnoredKinds = 64
}

/// The reasons a line can be rejected, all exported from the start so rates work before the first error.
public let rejectReasons = ["invalid_json", "missing_field", "unknown_type", "invalid_value", "too_long"]
