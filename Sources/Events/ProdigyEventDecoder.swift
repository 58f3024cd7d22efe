import CSimdJSON

/// Reads the lines of prodigy's JSONL event logs (SPEC section 2) into native events.
///
/// The job is the caller's key for the run (its folder `<repo>/<run id>`), never the line's
/// `job_id`. The time is the line's top-level `timestamp` (absent: arrival time). Agent
/// kinds need `agent_id`, dead-letter kinds need `item_id`; `progress_pct` is clamped to
/// 0...100 before it becomes a ratio. A field of the wrong JSON type rejects the line only
/// when its kind uses that field: kinds that are ignored may shape their fields freely.
public final class ProdigyEventDecoder {
    /// What one line became.
    public enum Outcome: Sendable, Equatable {
        case event(Event)
        /// A prodigy kind that carries no progress (checkpoints, worktrees, `claude_*`).
        case ignored(kind: String)
        case rejected(EventDecodeError)
    }

    public let limits: DecoderLimits
    private let rules: FieldRules
    private let parser = SimdJSONParser()

    public init(limits: DecoderLimits = DecoderLimits()) {
        self.limits = limits
        self.rules = FieldRules(limits: limits)
    }

    /// Decodes one line (without its newline) of the run keyed `job`; padding as for
    /// `NativeEventDecoder.decode(line:readableCapacity:)`.
    public func decode(line: UnsafeRawBufferPointer, readableCapacity: Int, job: String) -> Outcome {
        if let error = rules.tooLong(line.count) { return .rejected(error) }
        guard let base = line.baseAddress, !line.isEmpty else {
            return .rejected(EventDecodeError(.invalidJSON, "empty line"))
        }
        var fields = csj_prodigy()
        let status = csj_parse_prodigy(
            parser.handle, base.assumingMemoryBound(to: CChar.self), line.count,
            max(readableCapacity, line.count), &fields)
        guard status == CSJ_OK else {
            return .rejected(EventDecodeError(.invalidJSON, String(cString: fields.message)))
        }
        do {
            return try outcome(fields, job: job)
        } catch {
            return .rejected(error)
        }
    }

    /// Decodes one line held in an array; the line is copied for padding.
    public func decode(line: [UInt8], job: String) -> Outcome {
        line.withUnsafeBytes { decode(line: $0, readableCapacity: $0.count, job: job) }
    }

    private func outcome(_ f: csj_prodigy, job: String) throws(EventDecodeError) -> Outcome {
        guard f.has_event != 0 else { throw FieldRules.missing("event") }
        try check(f, [CSJ_PF_EVENT_TYPE])
        guard let type = f.event_type.string else { throw FieldRules.missing("event.event_type") }

        let kind: Event.Kind
        let uses: [Int]
        switch type {
        case "job_started": (kind, uses) = (.jobStarted, [CSJ_PF_TOTAL_ITEMS])
        case "job_completed": (kind, uses) = (.jobCompleted, [])
        case "job_failed": (kind, uses) = (.jobFailed, [CSJ_PF_ERROR])
        case "job_paused": (kind, uses) = (.jobPaused, [])
        case "job_resumed": (kind, uses) = (.jobResumed, [])
        case "agent_started": (kind, uses) = (.agentStarted, [CSJ_PF_AGENT_ID, CSJ_PF_ITEM_ID, CSJ_PF_ATTEMPT])
        case "agent_progress":
            (kind, uses) = (.agentProgress, [CSJ_PF_AGENT_ID, CSJ_PF_ITEM_ID, CSJ_PF_STEP, CSJ_PF_PROGRESS_PCT])
        case "agent_completed": (kind, uses) = (.itemCompleted, [CSJ_PF_AGENT_ID, CSJ_PF_ITEM_ID, CSJ_PF_DURATION])
        case "agent_failed":
            (kind, uses) = (.itemFailed, [CSJ_PF_AGENT_ID, CSJ_PF_ITEM_ID, CSJ_PF_ERROR, CSJ_PF_RETRY_ELIGIBLE])
        case "agent_retrying": (kind, uses) = (.agentRetrying, [CSJ_PF_AGENT_ID, CSJ_PF_ATTEMPT])
        case "d_l_q_item_added", "dlq_item_added":
            (kind, uses) = (.itemDeadLettered, [CSJ_PF_AGENT_ID, CSJ_PF_ITEM_ID, CSJ_PF_ERROR, CSJ_PF_ERROR_SIGNATURE])
        default:
            return .ignored(kind: type)
        }
        try check(f, uses + [CSJ_PF_TIMESTAMP])

        var time: Double?
        if f.timestamp.ptr != nil {
            guard let parsed = RFC3339.parseTimestamp(utf8: UnsafeRawBufferPointer(f.timestamp.bytes)) else {
                throw EventDecodeError(.invalidValue, "timestamp: not an RFC 3339 time")
            }
            time = parsed
        }
        var event = Event(kind: kind, job: job, time: time)
        if uses.contains(CSJ_PF_AGENT_ID) { event.agent = try rules.id(f.agent_id, "event.agent_id") }
        if uses.contains(CSJ_PF_ITEM_ID) { event.item = try rules.id(f.item_id, "event.item_id") }

        switch kind {
        case .jobStarted:
            event.totalItems = try count(f, CSJ_P_HAS_TOTAL_ITEMS, f.total_items, "event.total_items")
        case .jobFailed:
            event.error = f.error.string
        case .agentStarted, .agentRetrying:
            event.attempt = try count(f, CSJ_P_HAS_ATTEMPT, f.attempt, "event.attempt")
        case .agentProgress:
            event.step = f.step.string
            if f.present & UInt32(CSJ_P_HAS_PROGRESS_PCT) != 0 {
                event.progress = min(max(f.progress_pct, 0), 100) / 100
            }
        case .itemCompleted:
            event.completesAgent = true
            if f.present & UInt32(CSJ_P_HAS_DURATION) != 0 {
                guard f.duration_seconds >= 0 else { throw EventDecodeError(.invalidValue, "event.duration: negative") }
                event.durationSeconds = f.duration_seconds
            }
        case .itemFailed:
            event.error = f.error.string
            event.retryable = f.retry_eligible < 0 ? nil : f.retry_eligible == 1
        case .itemDeadLettered:
            event.error = f.error_signature.string ?? f.error.string
        default:
            break
        }

        switch kind {
        case .agentStarted, .agentProgress, .itemCompleted, .itemFailed, .agentRetrying:
            if event.agent == nil { throw FieldRules.missing("event.agent_id") }
        case .itemDeadLettered:
            if event.item == nil { throw FieldRules.missing("event.item_id") }
        default:
            break
        }
        return .event(event)
    }

    /// Rejects the line when one of the fields its kind `uses` had the wrong JSON type.
    private func check(_ f: csj_prodigy, _ uses: [Int]) throws(EventDecodeError) {
        for bit in uses where f.bad_fields & (1 << UInt32(bit)) != 0 {
            let (name, problem) = Self.fieldProblems[bit]
            throw EventDecodeError(.invalidValue, "\(name): \(problem)")
        }
    }

    private func count(_ f: csj_prodigy, _ bit: some BinaryInteger, _ value: Int64, _ field: String)
        throws(EventDecodeError) -> Int64?
    {
        guard f.present & UInt32(bit) != 0 else { return nil }
        try FieldRules.negative(value, field)
        return value
    }

    /// Name and expected shape of each `CSJ_PF_*` field, by bit.
    private static let fieldProblems: [(String, String)] = [
        ("timestamp", "not a string"),
        ("event.event_type", "not a string"),
        ("event.agent_id", "not a string"),
        ("event.item_id", "not a string"),
        ("event.step", "not a string"),
        ("event.error", "not a string"),
        ("event.error_signature", "not a string"),
        ("event.total_items", "not an integer"),
        ("event.attempt", "not an integer"),
        ("event.progress_pct", "not a number"),
        ("event.duration", "not [seconds, nanoseconds]"),
        ("event.retry_eligible", "not a boolean"),
    ]
}
