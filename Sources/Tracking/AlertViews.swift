import Events

/// A read-only view of one job for rule evaluation, valid only inside `ProgressStore.inspect`.
public struct JobView {
    let record: JobRecord
    let now: Double

    public var id: String { record.id }
    public var status: JobStatus { record.status }
    public var remaining: Int64? { record.remaining }
    public var deadline: Double? { record.deadline }
    /// The job's start, or its first event if that came earlier.
    public var since: Double { record.since }
    public var etaSeconds: Double? { CompletionEstimate.seconds(record, now: now) }
    /// Items finished in the `window` seconds before now (up to 15 minutes).
    public func finished(inLast window: Double) -> UInt64 { record.finishedWindow.sum(window: window, now: now).count }
    public var agents: some Collection<AgentView> {
        let now = now
        return record.agents.lazy.map { AgentView(record: $0, now: now) }
    }
}

/// A read-only view of one agent for rule evaluation.
public struct AgentView {
    let record: AgentRecord
    let now: Double

    public var id: String { record.id }
    public var state: AgentState { record.state }
    public var lastSeen: Double { record.lastSeen }
    /// The newest progress, or the agent's first event when it has made none yet.
    public var lastProgress: Double { record.lastProgress ?? record.firstSeen }
    public var consecutiveFailures: UInt32 { record.consecutiveFailures }
    /// Longest window `attempts(inLast:)` can answer for.
    public static let attemptSpan = AgentRecord.attemptSpan
    /// Completed and failed attempts in the `window` seconds before now (at most `attemptSpan`).
    public func attempts(inLast window: Double) -> (completed: UInt64, failed: UInt64) {
        let window = min(window, AgentRecord.attemptSpan)
        return (record.completedAttempts.sum(window: window, now: now).count, record.failedAttempts.sum(window: window, now: now).count)
    }
}

extension ProgressStore {
    /// Runs `body` over every job, under the store's lock: keep it short, it holds up ingestion.
    public func inspect<Result>(_ body: (_ jobs: [JobView], _ now: Double) -> Result) -> Result {
        let now = clock.now()
        return state.withLock { state in body(state.orderedJobs().map { JobView(record: $0, now: now) }, now) }
    }
}
