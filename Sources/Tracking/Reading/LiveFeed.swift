/// A position in the change feed that can stop inside a batch: everything with
/// (changedAt, id) up to it has been read. `id == nil` means every record of batch `changedAt`
/// has been read, so `FeedCursor(since: n)` starts after sequence number n.
///
/// Records only ever move forward in this order (their `changedAt` grows), so paging along it
/// never skips a record: one changed after it was read shows up again further on.
public struct FeedCursor: Sendable, Hashable {
    public var changedAt: UInt64
    public var id: String?

    public init(since sequence: UInt64) {
        changedAt = sequence
        id = nil
    }

    init(changedAt: UInt64, id: String?) {
        self.changedAt = changedAt
        self.id = id
    }

    /// The sequence number everything up to which has been read.
    public var complete: UInt64 { id == nil ? changedAt : changedAt - 1 }

    func isBefore(_ changedAt: UInt64, _ id: String) -> Bool {
        if changedAt != self.changedAt { return changedAt > self.changedAt }
        guard let own = self.id else { return false }
        return id > own
    }
}

/// One page of the change feed.
public struct FeedPage<Item: Sendable>: Sendable {
    /// The store's sequence number when the page was read.
    public var sequence: UInt64
    /// The records, each with the cursor just past it (to stop after any of them).
    public var entries: [(after: FeedCursor, item: Item)]
    /// Where to read on from; equal to `FeedCursor(since: sequence)` once everything was read.
    public var next: FeedCursor
    /// Jobs forgotten after the cursor's sequence (job pages only).
    public var removed: [String] = []
    public var isComplete: Bool { next.id == nil }
    public var items: [Item] { entries.map(\.item) }
}

extension ProgressStore {
    /// Jobs changed after `cursor`, ordered by (change, id), at most `limit` of them.
    public func jobChanges(after cursor: FeedCursor, limit: Int) -> FeedPage<JobSummary> {
        let now = clock.now()
        return state.withLock { state in
            let changed = state.jobs.values.filter { cursor.isBefore($0.changedAt, $0.id) }
                .map { Keyed(changedAt: $0.changedAt, id: $0.id, value: $0) }
            let page = Self.firstPage(changed, limit: limit)
            let removed = state.removedJobs.filter { $0.sequence > cursor.complete }.map(\.id)
            return FeedPage(
                sequence: state.sequence,
                entries: page.items.map { (FeedCursor(changedAt: $0.changedAt, id: $0.id), Self.summary(of: $0.value, now: now)) },
                next: page.more ? FeedCursor(changedAt: page.items.last!.changedAt, id: page.items.last!.id) : FeedCursor(since: state.sequence),
                removed: removed)
        }
    }

    /// Agents of `job` changed after `cursor`, ordered by (change, id), at most `limit`; nil for an unknown job.
    /// The lock is held for one pass over the job's agents and then for the page alone: the
    /// ordering happens outside it, so a first read of 100,000 agents does not hold up ingestion.
    public func agentChanges(job id: String, after cursor: FeedCursor, limit: Int) -> FeedPage<AgentSummary>? {
        let now = clock.now()
        let found = state.withLock { state -> (sequence: UInt64, keys: [Keyed<Void>])? in
            guard let job = state.jobs[id] else { return nil }
            // A job's change number moves with each of its agents': nothing newer, nothing to scan.
            guard job.changedAt > cursor.changedAt || (job.changedAt == cursor.changedAt && cursor.id != nil) else {
                return (state.sequence, [Keyed<Void>]())
            }
            return (state.sequence, job.agents.filter { cursor.isBefore($0.changedAt, $0.id) }.map { Keyed(changedAt: $0.changedAt, id: $0.id, value: ()) })
        }
        guard let found else { return nil }
        let page = Self.firstPage(found.keys, limit: limit)
        if page.items.isEmpty { return FeedPage(sequence: found.sequence, entries: [], next: FeedCursor(since: found.sequence)) }
        let agents = state.withLock { state -> [(after: FeedCursor, item: AgentSummary)] in
            guard let job = state.jobs[id] else { return [] }
            return page.items.compactMap { key in
                job.agentIndex[key.id].map { (FeedCursor(changedAt: key.changedAt, id: key.id), Self.agentSummary(of: job.agents[$0], now: now)) }
            }
        }
        let last = page.items[page.items.count - 1]
        return FeedPage(
            sequence: found.sequence, entries: agents,
            next: page.more ? FeedCursor(changedAt: last.changedAt, id: last.id) : FeedCursor(since: found.sequence))
    }

    /// Jobs still running, ordered by id, at most `limit`: their rates and ETC move with the clock
    /// even while no event changes them.
    public func runningJobSummaries(limit: Int) -> [JobSummary] {
        let now = clock.now()
        return state.withLock { state in
            Array(state.orderedJobs().lazy.filter { !$0.status.hasEnded }.prefix(max(0, limit)).map { Self.summary(of: $0, now: now) })
        }
    }

    struct Keyed<T> {
        var changedAt: UInt64
        var id: String
        var value: T
    }

    static func firstPage<T>(_ records: [Keyed<T>], limit: Int) -> (items: [Keyed<T>], more: Bool) {
        let limit = max(1, limit)
        let sorted = records.sorted { ($0.changedAt, $0.id) < ($1.changedAt, $1.id) }
        return (Array(sorted.prefix(limit)), sorted.count > limit)
    }
}
