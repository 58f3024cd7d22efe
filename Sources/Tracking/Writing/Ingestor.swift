import Events

/// The store's one writer: every source (POST /events, the journal, followed files, standard input,
/// event streams, the demo) hands its batches here; they are decoded, filtered by shard and applied
/// in one total order, each batch with its sequence number and the position its source reached after
/// it. The upkeep tick (expiry) and a restore from a snapshot go through it too: the store's own
/// mutators are internal to this module, so nothing else can change the state.
public struct Ingestor: Sendable {
    public let store: ProgressStore
    public let limits: DecoderLimits
    /// When set, events of jobs other shards own are counted as ignored, not applied.
    public let shard: ShardFilter?
    /// Runs after each batch was applied (the alert loop evaluates soon after).
    let afterApply: @Sendable () -> Void
    /// How many rejected lines a POST answer lists in detail.
    static let reportedRejections = 10

    public init(
        store: ProgressStore, limits: DecoderLimits, shard: ShardFilter? = nil,
        afterApply: @escaping @Sendable () -> Void = {}
    ) {
        self.store = store
        self.limits = limits
        self.shard = shard
        self.afterApply = afterApply
    }

    /// What became of one batch.
    public struct Outcome: Sendable, Equatable {
        /// The sequence number the store gave the batch.
        public var sequence: UInt64 = 0
        public var accepted = 0
        public var rejected = 0
        public var ignored = 0
        /// The first rejected lines, with their reasons.
        public var rejections: [(line: Int, error: EventDecodeError)] = []

        /// Counts one rejected line, keeping the first few with their reasons for the answer.
        mutating func record(_ error: EventDecodeError, line: Int, byReason: inout [String: Int]) {
            rejected += 1
            byReason[error.reason.rawValue, default: 0] += 1
            if rejections.count < Ingestor.reportedRejections { rejections.append((line, error)) }
        }

        public static func == (a: Outcome, b: Outcome) -> Bool {
            a.accepted == b.accepted && a.rejected == b.rejected && a.ignored == b.ignored
                && a.rejections.map(\.line) == b.rejections.map(\.line)
                && a.rejections.map(\.error) == b.rejections.map(\.error)
        }
    }

    /// A native body decoded and filtered by shard, not yet applied: the journal makes the body
    /// durable between the two steps.
    public struct DecodedBatch: Sendable {
        var events: [Event] = []
        public internal(set) var outcome = Outcome()
        var rejectedByReason: [String: Int] = [:]
        var ignoredByKind: [String: Int] = [:]
        /// Events that will change the store (what a journal must keep).
        public var accepted: Int { outcome.accepted }
    }

    /// Decodes a native NDJSON (or JSON array) body and applies its good events; bad lines are rejected alone.
    @discardableResult
    public func ingestNative(_ body: [UInt8], source: String, position: SourcePosition? = nil) -> Outcome {
        apply(decodeNative(body), source: source, positions: position.map { [$0] } ?? [])
    }

    /// Decodes a native body and keeps the events this shard owns.
    public func decodeNative(_ body: [UInt8]) -> DecodedBatch {
        let decoder = NativeEventDecoder(limits: limits)
        var batch = DecodedBatch()
        // About one event per 100 bytes of NDJSON: the array grows once or twice, not a dozen
        // times. Capped, so a huge body of long lines does not reserve far more than it needs.
        batch.events.reserveCapacity(min(body.count / 100 + 1, 50_000))
        decoder.decodeBody(body) { event in
            batch.events.append(consume event)
        } onReject: { line, error in
            batch.outcome.record(error, line: line, byReason: &batch.rejectedByReason)
        }
        keepOwned(&batch.events, outcome: &batch.outcome, ignoredByKind: &batch.ignoredByKind)
        return batch
    }

    /// Applies a decoded batch with where its sources stood after it (the journal's number and a bus
    /// consumer's sequence, say: recorded with the batch, atomically); returns its outcome with the
    /// store's sequence number.
    @discardableResult
    public func apply(_ batch: DecodedBatch, source: String, positions: [SourcePosition] = [], arrivedAt: Double? = nil) -> Outcome {
        var outcome = batch.outcome
        outcome.sequence = apply(batch.events, source: source, rejected: batch.rejectedByReason, ignored: batch.ignoredByKind, positions: positions, arrivedAt: arrivedAt)
        return outcome
    }

    /// Applies a decoded batch unless a batch with the same `id` was applied within the
    /// de-duplication window (`--events.dedup-window`): nil then. For sources that deliver at least
    /// once, such as a message bus, with the message's identity as `id`.
    @discardableResult
    public func applyOnce(_ batch: DecodedBatch, id: String, source: String, positions: [SourcePosition] = [], arrivedAt: Double? = nil) -> Outcome? {
        var outcome = batch.outcome
        outcome.sequence = apply(batch.events, source: source, rejected: batch.rejectedByReason, ignored: batch.ignoredByKind, positions: positions, onceAs: id, arrivedAt: arrivedAt)
        return outcome.sequence == 0 ? nil : outcome
    }

    /// Decodes prodigy event-log lines of one run (keyed by its folder) and applies them.
    @discardableResult
    public func ingestProdigy(_ lines: [UInt8], run: String, source: String, position: SourcePosition? = nil) -> Outcome {
        let decoder = ProdigyEventDecoder(limits: limits)
        var events: [Event] = []
        var outcome = Outcome()
        var rejectedByReason: [String: Int] = [:]
        var ignoredByKind: [String: Int] = [:]
        var lineNumber = 0
        for line in lines.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            if line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\r") || $0 == UInt8(ascii: "\t") }) { continue }
            guard line.count <= limits.maxLineBytes else {
                outcome.record(EventDecodeError(.tooLong, "line longer than \(limits.maxLineBytes) bytes"), line: lineNumber, byReason: &rejectedByReason)
                continue
            }
            switch decoder.decode(line: Array(line), job: run) {
            case .event(let event): events.append(event)
            case .ignored(let kind): outcome.ignored += 1; ignoredByKind[kind, default: 0] += 1
            case .rejected(let error): outcome.record(error, line: lineNumber, byReason: &rejectedByReason)
            }
        }
        keepOwned(&events, outcome: &outcome, ignoredByKind: &ignoredByKind)
        outcome.sequence = apply(events, source: source, rejected: rejectedByReason, ignored: ignoredByKind, positions: position.map { [$0] } ?? [])
        return outcome
    }

    /// Drops the events of jobs another shard owns, counting them as ignored; the rest are accepted.
    private func keepOwned(_ events: inout [Event], outcome: inout Outcome, ignoredByKind: inout [String: Int]) {
        if let shard {
            let before = events.count
            events.removeAll { !shard.owns(job: $0.job) }
            if events.count < before {
                outcome.ignored += before - events.count
                ignoredByKind[Self.notOwnedKind, default: 0] += before - events.count
            }
        }
        outcome.accepted = events.count
    }

    /// The `kind` of `progress_exporter_events_ignored_total` for events of jobs another shard owns.
    static let notOwnedKind = "not_owned_by_shard"

    /// Applies events a source made itself (the demo), through the same shard filter.
    @discardableResult
    public func ingestEvents(_ events: [Event], source: String) -> Outcome {
        var events = events
        var outcome = Outcome()
        var ignoredByKind: [String: Int] = [:]
        keepOwned(&events, outcome: &outcome, ignoredByKind: &ignoredByKind)
        outcome.sequence = apply(events, source: source, ignored: ignoredByKind)
        return outcome
    }

    /// The store's clock now: when a batch arrives (the journal keeps it with the batch).
    public func now() -> Double { store.clock.now() }

    /// Periodic upkeep: expires ended jobs and silent agents (see `ProgressStore.tick`).
    @discardableResult
    public func tick() -> [ProgressStore.ForgottenOnArrival] {
        store.tick()
    }

    /// Replaces the whole state with a snapshot's (`ProgressStore.snapshot()`), or changes nothing.
    public func restore(from bytes: [UInt8]) throws(BinaryReadError) {
        try store.restore(from: bytes)
    }

    /// Counts lines a source skipped for being too long, as `too_long` rejections.
    public func recordOversizedLine(source: String) {
        _ = apply([], source: source, rejected: [EventRejectReason.tooLong.rawValue: 1])
    }

    /// The only call that changes the store's jobs and agents.
    private func apply(
        _ events: [Event], source: String, rejected: [String: Int] = [:], ignored: [String: Int] = [:],
        positions: [SourcePosition] = [], onceAs batchID: String? = nil, arrivedAt: Double? = nil
    ) -> UInt64 {
        let sequence = store.apply(events, source: source, rejected: rejected, ignored: ignored, positions: positions, onceAs: batchID, arrivedAt: arrivedAt)
        if !events.isEmpty, sequence != 0 { afterApply() }
        return sequence
    }
}
