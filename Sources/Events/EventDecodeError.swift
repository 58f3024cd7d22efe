/// Why an event line was rejected: the bounded `reason` label of
/// `progress_exporter_events_rejected_total`.
public enum EventRejectReason: String, Sendable, CaseIterable {
    case invalidJSON = "invalid_json"
    case missingField = "missing_field"
    case unknownType = "unknown_type"
    case invalidValue = "invalid_value"
    case tooLong = "too_long"
}

/// A rejected event line: a reason for counting and a detail for people.
public struct EventDecodeError: Error, Sendable, Equatable, CustomStringConvertible {
    public var reason: EventRejectReason
    /// What was wrong, naming the field: "missing field job", "agent: longer than 1024 bytes".
    public var detail: String

    public init(_ reason: EventRejectReason, _ detail: String) {
        self.reason = reason
        self.detail = detail
    }

    public var description: String { "\(reason.rawValue): \(detail)" }
}

/// Size bounds applied while decoding (`--events.max-line-bytes`, `--events.max-id-bytes`).
public struct DecoderLimits: Sendable, Equatable {
    /// A longer line (or array element) is rejected as `too_long` without being parsed.
    public var maxLineBytes: Int
    /// The most bytes an id (`job`, `agent`, `item`, `id`) may have.
    public var maxIdBytes: Int

    public init(maxLineBytes: Int = 1 << 20, maxIdBytes: Int = 256) {
        self.maxLineBytes = maxLineBytes
        self.maxIdBytes = maxIdBytes
    }
}
