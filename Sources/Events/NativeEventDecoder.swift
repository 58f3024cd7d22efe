import CSimdJSON

/// Decodes native event lines (SPEC section 2) with simdjson; one per thread.
///
/// What a line must hold, beyond JSON syntax (a JSON `null` counts as absent everywhere):
/// - `type`, a native type name (`unknown_type` otherwise), and `job` (`missing_field`).
/// - `agent` for the agent events (`agent_started`, `agent_progress`, `agent_heartbeat`,
///   `agent_state`, `agent_retrying`): they describe one agent.
/// - `item` or `agent` for `item_completed` and `item_failed` (without `item` the outcome
///   applies to the agent's current item); `item` for `item_dead_lettered`, which carries
///   no agent. `error` stays optional on failures.
/// - `count` for `job_items_added`, `state` for `agent_state`; `attempt` on
///   `agent_retrying` and every other extra field is optional.
/// - Ids (`job`, `agent`, `item`, and the event `id`) non-empty, without NUL, at most
///   `maxIdBytes` bytes; counts (`total_items`, `count`, `steps_completed`,
///   `total_steps`, `attempt`) integers >= 0 (a float with an integral value is an
///   integer); `progress` within 0...1; `duration_seconds` >= 0; `ts` and `deadline`
///   Unix seconds >= 0 or RFC 3339; `state` an `AgentState`.
/// A field of the wrong JSON type is `invalid_value`. Unknown fields are ignored, but read
/// through, so that bad JSON inside them still rejects the line as `invalid_json`.
extension Event {
    /// An event of the given identity with its other fields set by `fill`, built in place.
    init(kind: Kind, job: String, agent: String?, item: String?, time: Double?, fill: (inout Event) -> Void) {
        self.init(kind: kind, job: job, agent: agent, item: item, time: time)
        fill(&self)
    }
}

public final class NativeEventDecoder {
    public let limits: DecoderLimits
    let rules: FieldRules
    let parser = SimdJSONParser()
    private var recentJob = RecentID()

    /// `Event.Kind` by the shim's type code, built from the shim's own names.
    private static let kinds: [Event.Kind] = (0..<csj_native_type_count()).map { code in
        let name = String(cString: csj_native_type_name(code))
        guard let kind = Event.Kind(rawValue: name), Event.Kind.native.contains(kind) else {
            fatalError("CSimdJSON names type \(name), which Event.Kind.native lacks")
        }
        return kind
    }

    public init(limits: DecoderLimits = DecoderLimits()) {
        self.limits = limits
        self.rules = FieldRules(limits: limits)
    }

    /// Decodes one line (without its newline). `readableCapacity` is how many bytes from
    /// `line.baseAddress` may be read; with `CSJ_PADDING` (64) to spare beyond the line,
    /// the line is parsed in place, else it is copied first.
    public func decode(line: UnsafeRawBufferPointer, readableCapacity: Int) -> Result<Event, EventDecodeError> {
        Result { () throws(EventDecodeError) in try event(line: line, readableCapacity: readableCapacity) }
    }

    func event(line: UnsafeRawBufferPointer, readableCapacity: Int) throws(EventDecodeError) -> Event {
        if let error = rules.tooLong(line.count) { throw error }
        guard let base = line.baseAddress, !line.isEmpty else {
            throw EventDecodeError(.invalidJSON, "empty line")
        }
        var fields = csj_event()
        let status = csj_parse_event(
            parser.handle, base.assumingMemoryBound(to: CChar.self), line.count,
            max(readableCapacity, line.count), &fields)
        switch status {
        case CSJ_OK:
            return try event(from: fields)
        case CSJ_INVALID_VALUE:
            throw EventDecodeError(
                .invalidValue, "\(String(cString: fields.field)): \(String(cString: fields.problem))")
        default:
            throw EventDecodeError(.invalidJSON, String(cString: fields.message))
        }
    }

    /// Decodes one line held in an array (tests, small callers); the line is copied for padding.
    public func decode(line: [UInt8]) -> Result<Event, EventDecodeError> {
        line.withUnsafeBytes { decode(line: $0, readableCapacity: $0.count) }
    }

    /// Checks everything first and builds the event last, so that no partly built event is
    /// copied or torn down on the way out.
    private func event(from f: csj_event) throws(EventDecodeError) -> Event {
        let kind: Event.Kind
        switch f.type {
        case CSJ_TYPE_ABSENT:
            throw FieldRules.missing("type")
        case CSJ_TYPE_UNKNOWN:
            throw EventDecodeError(.unknownType, "unknown type \(FieldRules.quoted(f.type_name))")
        default:
            kind = Self.kinds[Int(f.type)]
        }
        guard let job = try rules.idBytes(f.job, "job") else { throw FieldRules.missing("job") }
        let agent = try rules.idBytes(f.agent, "agent")
        let item = try rules.idBytes(f.item, "item")
        let id = try rules.idBytes(f.id, "id")
        let time = try timestamp(f.present, CSJ_HAS_TS, f.ts, f.ts_string, "ts")
        let deadline = try timestamp(f.present, CSJ_HAS_DEADLINE, f.deadline, f.deadline_string, "deadline")
        let totalItems = try nonNegative(f.present, CSJ_HAS_TOTAL_ITEMS, f.total_items, "total_items")
        let count = try nonNegative(f.present, CSJ_HAS_COUNT, f.count, "count")
        let stepsCompleted = try nonNegative(f.present, CSJ_HAS_STEPS_COMPLETED, f.steps_completed, "steps_completed")
        let totalSteps = try nonNegative(f.present, CSJ_HAS_TOTAL_STEPS, f.total_steps, "total_steps")
        let attempt = try nonNegative(f.present, CSJ_HAS_ATTEMPT, f.attempt, "attempt")
        let progress = has(f.present, CSJ_HAS_PROGRESS) ? f.progress : nil
        if let progress, !(0...1).contains(progress) {
            throw EventDecodeError(.invalidValue, "progress: outside 0...1")
        }
        let duration = has(f.present, CSJ_HAS_DURATION_SECONDS) ? f.duration_seconds : nil
        if let duration, duration < 0 {
            throw EventDecodeError(.invalidValue, "duration_seconds: negative")
        }
        if let duration, duration > Self.maxDurationSeconds {
            throw EventDecodeError(.invalidValue, "duration_seconds: more than a year (\(Int(Self.maxDurationSeconds)) s); no item runs that long")
        }
        let work = try amountOfWork(f.present, CSJ_HAS_WORK, f.work, "work")
        let totalWork = try amountOfWork(f.present, CSJ_HAS_TOTAL_WORK, f.total_work, "total_work")
        var state: AgentState?
        if f.state.ptr != nil {
            state = f.state.string.flatMap(AgentState.init(rawValue:))
            if state == nil {
                throw EventDecodeError(.invalidValue, "state: \(FieldRules.quoted(f.state)) is not an agent state")
            }
        }
        try requireTypeFields(kind, hasAgent: agent != nil, hasItem: item != nil, hasCount: count != nil,
                              hasState: state != nil)

        return Event(
            kind: kind, job: recentJob.string(job),
            agent: agent.map { String(decoding: $0, as: UTF8.self) },
            item: item.map { String(decoding: $0, as: UTF8.self) },
            time: time
        ) { event in
            event.id = id.map { String(decoding: $0, as: UTF8.self) }
            event.deadline = deadline
            event.totalItems = totalItems
            event.count = count
            event.stepsCompleted = stepsCompleted
            event.totalSteps = totalSteps
            event.attempt = attempt
            event.progress = progress
            event.durationSeconds = duration
            event.work = work
            event.totalWork = totalWork
            event.state = state
            event.retryable = f.retryable < 0 ? nil : f.retryable == 1
            event.step = f.step.string
            event.error = f.error.string
        }
    }

    /// `work` and `total_work`: finite, not negative, at most `maxWork` (sums of them stay finite).
    private func amountOfWork(_ present: UInt32, _ bit: some BinaryInteger, _ value: Double, _ name: String) throws(EventDecodeError) -> Double? {
        guard has(present, bit) else { return nil }
        guard value.isFinite, value >= 0 else { throw EventDecodeError(.invalidValue, "\(name): negative or not finite") }
        guard value <= Self.maxWork else { throw EventDecodeError(.invalidValue, "\(name): more than 1e18") }
        return value
    }

    /// The largest `work` or `total_work` accepted: 1e18 (an exabyte in bytes).
    static let maxWork = 1e18

    private func requireTypeFields(
        _ kind: Event.Kind, hasAgent: Bool, hasItem: Bool, hasCount: Bool, hasState: Bool
    ) throws(EventDecodeError) {
        switch kind {
        case .jobItemsAdded where !hasCount:
            throw FieldRules.missing("count")
        case .agentStarted, .agentProgress, .agentHeartbeat, .agentState, .agentRetrying:
            if !hasAgent { throw FieldRules.missing("agent") }
            if kind == .agentState, !hasState { throw FieldRules.missing("state") }
        case .itemCompleted, .itemFailed:
            if !hasItem && !hasAgent { throw FieldRules.missing("item (or agent)") }
        case .itemDeadLettered where !hasItem:
            throw FieldRules.missing("item")
        default:
            break
        }
    }

    private func has(_ present: UInt32, _ bit: some BinaryInteger) -> Bool {
        present & UInt32(bit) != 0
    }

    private func nonNegative(_ present: UInt32, _ bit: some BinaryInteger, _ value: Int64, _ field: String)
        throws(EventDecodeError) -> Int64?
    {
        guard has(present, bit) else { return nil }
        try FieldRules.negative(value, field)
        return value
    }

    /// A time given as Unix seconds or as an RFC 3339 string.
    private func timestamp(
        _ present: UInt32, _ bit: some BinaryInteger, _ number: Double, _ text: csj_view, _ field: String
    ) throws(EventDecodeError) -> Double? {
        let seconds: Double
        if has(present, bit) {
            seconds = number
        } else if text.ptr != nil {
            guard let parsed = RFC3339.parseTimestamp(utf8: UnsafeRawBufferPointer(text.bytes)) else {
                throw EventDecodeError(.invalidValue, "\(field): not a number or RFC 3339 time")
            }
            seconds = parsed
        } else {
            return nil
        }
        guard seconds >= 0 else { throw EventDecodeError(.invalidValue, "\(field): before 1970") }
        guard seconds <= Self.latestTimestamp else { throw EventDecodeError(.invalidValue, "\(field): after the year 9999") }
        return seconds
    }

    /// The longest `duration_seconds` accepted: 366 days. Longer is no item's duration but a unit
    /// mistake (milliseconds) or hostile input that would make sums and rates meaningless.
    static let maxDurationSeconds = 366.0 * 86_400
    /// 10000-01-01T00:00:00Z (the end of 9999-12-31 as a Double rounds it): the latest `ts` or `deadline` accepted (RFC 3339's four-digit year).
    static let latestTimestamp = 253_402_300_800.0
}
