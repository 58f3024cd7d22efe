import Events

/// A read-only view of one job for rule evaluation, valid only inside `ProgressStore.forEachJob`.
public struct JobView {
    let record: JobRecord
    /// The time the evaluation judges at (one for all jobs of an evaluation).
    public let now: Double
    /// `--jobs.silent-retention` and `--agents.retention`: state older than these is history.
    let retention: (job: Double, agent: Double)

    public var id: String { record.id }
    /// Sequence number of the last batch that changed the job or any of its agents.
    public var changedAt: UInt64 { record.changedAt }
    public var status: JobStatus { record.status }
    public var remaining: Int64? { record.remaining }
    public var deadline: Double? { record.deadline }
    /// The job's start, or its first event if that came earlier.
    public var since: Double { record.since }
    public var etaSeconds: Double? { CompletionEstimate.of(record, now: now)?.seconds }
    /// Items finished in the `window` seconds before now (up to 15 minutes).
    public func finished(inLast window: Double) -> UInt64 { record.finishedWindow.sum(window: window, now: now).count }
    /// Median of the job's recent item durations (its last 1,024), and how many that is.
    public var recentItemDurations: (median: Double?, count: Int) {
        let sorted = record.sortedDurations()
        return (sorted.isEmpty ? nil : sorted.values[sorted.count / 2], sorted.count)
    }
    /// The `q` quantile (0...1, nearest rank) of the job's recent item durations; nil before any.
    public func recentItemDuration(quantile q: Double) -> Double? {
        let sorted = record.sortedDurations()
        guard !sorted.isEmpty else { return nil }
        return sorted.values[min(sorted.count - 1, max(0, Int((Double(sorted.count) * q).rounded(.up)) - 1))]
    }
    /// Every planned item is finished (the total is known and nothing remains), whether or not
    /// the tracker sent `job_completed`.
    public var allItemsFinished: Bool { record.allItemsFinished }
    /// The job's newest event is older than `--jobs.silent-retention`: a log read long after it was
    /// written. Its state is kept until the next upkeep forgets it, but it is history, not news.
    public var isHistory: Bool { now - record.lastEventTime > retention.job }
    public var agents: some Collection<AgentView> {
        let now = now, agentRetention = retention.agent
        return record.agents.lazy.map { AgentView(record: $0, now: now, retention: agentRetention) }
    }
}

/// A read-only view of one agent for rule evaluation.
public struct AgentView {
    let record: AgentRecord
    let now: Double
    /// `--agents.retention`.
    let retention: Double

    public var id: String { record.id }
    /// The agent's newest event is older than `--agents.retention`: it is about to be forgotten, and
    /// an alert raised now would resolve at the next upkeep.
    public var isHistory: Bool { now - record.lastSeen > retention }
    public var state: AgentState { record.state }
    public var lastSeen: Double { record.lastSeen }
    /// The newest progress, or the agent's first event when it has made none yet.
    public var lastProgress: Double { record.lastProgress ?? record.firstSeen }
    public var consecutiveFailures: UInt32 { record.consecutiveFailures }
    /// When the agent's current item started; nil when it holds none.
    public var currentItemStart: Double? { record.holdsItem ? record.itemStartTime : nil }
    /// How long the item the agent works on has run; nil when it holds none.
    public var currentItemAge: Double? {
        guard record.holdsItem, let start = record.itemStartTime else { return nil }
        return max(0, now - start)
    }
    /// Items finished per second over the last 5 minutes, and when the agent was first seen.
    public var throughput: Double { record.throughput(now: now) }
    public var firstSeen: Double { record.firstSeen }
    public static let throughputWindow = AgentRecord.throughputWindow
    /// Longest window `attempts(inLast:)` can answer for.
    public static let attemptSpan = AgentRecord.attemptSpan
    /// Completed and failed attempts in the `window` seconds before now (at most `attemptSpan`).
    public func attempts(inLast window: Double) -> (completed: UInt64, failed: UInt64) {
        let window = min(window, AgentRecord.attemptSpan)
        return (record.completedAttempts.sum(window: window, now: now).count, record.failedAttempts.sum(window: window, now: now).count)
    }
}

/// What `ProgressStore.forEachJob(visitor:finished:)` calls for each job: `begin` under the job's
/// first hold of the store's lock, `visit` for each of its agents a chunk per hold, then `end`
/// outside the lock.
public protocol JobVisitor {
    /// Under the job's first hold: whether to visit the job's agents. Whatever the visit needs from
    /// the job must be read here (the view is not valid later).
    mutating func begin(_ job: JobView) -> Bool
    /// Under a hold, for each agent the job had at `begin`, in registration order.
    mutating func visit(_ agent: AgentView)
    /// After the last agent (or after `begin`, when it visits none), outside the lock.
    mutating func end()
}

extension ProgressStore {
    /// Calls `body` for every job in id order, holding the store's lock for one job at a time (each
    /// job is a consistent view; ingestion runs between jobs). Returns the `now` the views used.
    @discardableResult
    public func forEachJob(_ body: (_ job: JobView, _ now: Double) -> Void) -> Double {
        let now = clock.now()
        let retention = viewRetention
        let jobs = state.withLock { $0.orderedJobs() }
        for job in jobs {
            state.letWaitersIn()
            state.withLock { _ in body(JobView(record: job, now: now, retention: retention), now) }
        }
        return now
    }

    private var viewRetention: (job: Double, agent: Double) { (options.silentJobRetention, options.agentRetention) }

    /// Agents a visit looks at in one hold of the lock: about a millisecond of rule evaluation.
    public static let agentsPerHold = 1_024

    /// As `forEachJob(_:)`, but a job's agents are visited `agentsPerHold` at a time, each chunk in
    /// a hold of its own with ingestion let in between, so a job of 100,000 agents does not stop
    /// ingestion for a pass over all of them. `visitor(job id)` makes the visitor of a job (nil skips
    /// it); `finished` gets it after its `end`, outside the lock. The agents visited are the
    /// job's list at `begin` (agents registered later wait for the next visit; agents expired
    /// meanwhile are still visited, as they were at `begin`); each agent is read as of the batch
    /// before its chunk's hold.
    @discardableResult
    public func forEachJob<Visitor: JobVisitor>(
        agentsPerHold: Int = ProgressStore.agentsPerHold,
        visitor: (_ job: String) -> Visitor?, finished: (_ job: String, _ visitor: Visitor) -> Void
    ) -> Double {
        let now = clock.now()
        let retention = viewRetention
        let chunk = max(1, agentsPerHold)
        let jobs = state.withLock { $0.orderedJobs() }
        for job in jobs {
            guard var visiting = visitor(job.id) else { continue }
            state.letWaitersIn()
            // The list is shared (copy-on-write): a batch that registers or expires an agent during
            // the visit copies it, and the visit keeps the agents of `begin`.
            let agents = state.withLock { _ in visiting.begin(JobView(record: job, now: now, retention: retention)) ? job.agents : [] }
            var start = 0
            while start < agents.count {
                let end = min(start + chunk, agents.count)
                state.letWaitersIn()
                state.withLock { _ in
                    for index in start..<end { visiting.visit(AgentView(record: agents[index], now: now, retention: retention.agent)) }
                }
                start = end
            }
            visiting.end()
            finished(job.id, visiting)
        }
        return now
    }
}
