import Events

/// A consistent read of one job for the JSON API and the status page.
public struct JobSummary: Sendable, Equatable, Codable {
    public var job: String
    public var status: String
    public var planned: Int64?
    public var finished: UInt64
    public var remaining: Int64?
    public var progressRatio: Double?
    /// Finished items per second over 5 minutes.
    public var throughput: Double
    public var throughputByWindow: [String: Double]
    public var etaSeconds: Double?
    /// The ETC's 80 % interval: the job should end between these two, four times in five.
    public var etaLowerSeconds: Double?
    public var etaUpperSeconds: Double?
    public var estimatedCompletion: Double?
    /// What the job's end waits for (stalled items, or the last item of the last wave); absent when nothing.
    public var waitingOn: [WaitingItem]?
    /// Planned and finished work (`total_work`, items' `work`), and work a second now; absent without work.
    public var plannedWork: Double?
    public var finishedWork: Double?
    public var workPerSecond: Double?
    public var completed: UInt64
    public var failed: UInt64
    public var deadLettered: UInt64
    public var retries: UInt64
    public var agents: [String: Int]
    public var startTime: Double
    public var lastEventTime: Double
    public var deadline: Double?
    /// Every planned item is finished, though the tracker sent no `job_completed`: `status` says
    /// `running`, but the job has no work left and its idle agents raise no alert.
    public var allItemsFinished = false
    /// The job's most common failure reason and how many failed attempts had it; nil before any failure.
    public var mostCommonFailure: JobFailures.Reason?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case allItemsFinished = "all_items_finished"
        case mostCommonFailure = "most_common_failure"
        case job, status, planned, finished, remaining, throughput, completed, failed, retries, agents, deadline
        case progressRatio = "progress_ratio"
        case throughputByWindow = "throughput_by_window"
        case etaSeconds = "eta_seconds"
        case etaLowerSeconds = "eta_lower_bound_seconds"
        case etaUpperSeconds = "eta_upper_bound_seconds"
        case estimatedCompletion = "estimated_completion_timestamp"
        case waitingOn = "waiting_on"
        case plannedWork = "planned_work"
        case finishedWork = "finished_work"
        case workPerSecond = "work_per_second"
        case deadLettered = "dead_lettered"
        case startTime = "start_timestamp"
        case lastEventTime = "last_event_timestamp"
    }
}

extension JobSummary {
    /// Reads what `encode(to:)` writes (the API, the stream's `jobs` events) and what older servers
    /// wrote: only `job` is required; an absent count reads as 0, an absent status as `running`, an
    /// absent time as 0. `top` and `export --url` read jobs through it.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        job = try c.decode(String.self, forKey: .job)
        status = try c.decodeIfPresent(String.self, forKey: .status) ?? "running"
        planned = try c.decodeIfPresent(Int64.self, forKey: .planned)
        finished = try c.decodeIfPresent(UInt64.self, forKey: .finished) ?? 0
        remaining = try c.decodeIfPresent(Int64.self, forKey: .remaining)
        progressRatio = try c.decodeIfPresent(Double.self, forKey: .progressRatio)
        throughput = try c.decodeIfPresent(Double.self, forKey: .throughput) ?? 0
        throughputByWindow = try c.decodeIfPresent([String: Double].self, forKey: .throughputByWindow) ?? [:]
        etaSeconds = try c.decodeIfPresent(Double.self, forKey: .etaSeconds)
        etaLowerSeconds = try c.decodeIfPresent(Double.self, forKey: .etaLowerSeconds)
        etaUpperSeconds = try c.decodeIfPresent(Double.self, forKey: .etaUpperSeconds)
        estimatedCompletion = try c.decodeIfPresent(Double.self, forKey: .estimatedCompletion)
        waitingOn = try c.decodeIfPresent([WaitingItem].self, forKey: .waitingOn)
        plannedWork = try c.decodeIfPresent(Double.self, forKey: .plannedWork)
        finishedWork = try c.decodeIfPresent(Double.self, forKey: .finishedWork)
        workPerSecond = try c.decodeIfPresent(Double.self, forKey: .workPerSecond)
        completed = try c.decodeIfPresent(UInt64.self, forKey: .completed) ?? 0
        failed = try c.decodeIfPresent(UInt64.self, forKey: .failed) ?? 0
        deadLettered = try c.decodeIfPresent(UInt64.self, forKey: .deadLettered) ?? 0
        retries = try c.decodeIfPresent(UInt64.self, forKey: .retries) ?? 0
        agents = try c.decodeIfPresent([String: Int].self, forKey: .agents) ?? [:]
        startTime = try c.decodeIfPresent(Double.self, forKey: .startTime) ?? 0
        lastEventTime = try c.decodeIfPresent(Double.self, forKey: .lastEventTime) ?? 0
        deadline = try c.decodeIfPresent(Double.self, forKey: .deadline)
        allItemsFinished = try c.decodeIfPresent(Bool.self, forKey: .allItemsFinished) ?? false
        mostCommonFailure = try? c.decodeIfPresent(JobFailures.Reason.self, forKey: .mostCommonFailure)
    }

    /// As synthesized, except that an estimate open above says so: `eta_upper_bound_seconds` is
    /// `null` while `eta_seconds` is there (a stalled item may never end), absent with no estimate.
    /// A field added to the summary must be added here too (`JobSummaryEncodingTests` checks).
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(job, forKey: .job)
        try c.encode(status, forKey: .status)
        try c.encodeIfPresent(planned, forKey: .planned)
        try c.encode(finished, forKey: .finished)
        try c.encodeIfPresent(remaining, forKey: .remaining)
        try c.encodeIfPresent(progressRatio, forKey: .progressRatio)
        try c.encode(throughput, forKey: .throughput)
        try c.encode(throughputByWindow, forKey: .throughputByWindow)
        try c.encodeIfPresent(etaSeconds, forKey: .etaSeconds)
        try c.encodeIfPresent(etaLowerSeconds, forKey: .etaLowerSeconds)
        if let etaUpperSeconds {
            try c.encode(etaUpperSeconds, forKey: .etaUpperSeconds)
        } else if etaSeconds != nil {
            try c.encodeNil(forKey: .etaUpperSeconds)
        }
        try c.encodeIfPresent(estimatedCompletion, forKey: .estimatedCompletion)
        try c.encodeIfPresent(waitingOn, forKey: .waitingOn)
        try c.encodeIfPresent(plannedWork, forKey: .plannedWork)
        try c.encodeIfPresent(finishedWork, forKey: .finishedWork)
        try c.encodeIfPresent(workPerSecond, forKey: .workPerSecond)
        try c.encode(completed, forKey: .completed)
        try c.encode(failed, forKey: .failed)
        try c.encode(deadLettered, forKey: .deadLettered)
        try c.encode(retries, forKey: .retries)
        try c.encode(agents, forKey: .agents)
        try c.encode(startTime, forKey: .startTime)
        try c.encode(lastEventTime, forKey: .lastEventTime)
        try c.encodeIfPresent(deadline, forKey: .deadline)
        try c.encode(allItemsFinished, forKey: .allItemsFinished)
        try c.encodeIfPresent(mostCommonFailure, forKey: .mostCommonFailure)
    }
}

/// A read of one agent for the JSON API.
public struct AgentSummary: Sendable, Equatable, Codable {
    public var agent: String
    public var state: String
    public var item: String?
    public var step: String?
    public var progressRatio: Double?
    public var etaSeconds: Double?
    public var completed: UInt64
    public var failed: UInt64
    public var retries: UInt64
    public var consecutiveFailures: UInt32
    public var lastSeen: Double
    public var lastProgress: Double?

    enum CodingKeys: String, CodingKey {
        case agent, state, item, step, completed, failed, retries
        case progressRatio = "progress_ratio"
        case etaSeconds = "eta_seconds"
        case consecutiveFailures = "consecutive_failures"
        case lastSeen = "last_seen_timestamp"
        case lastProgress = "last_progress_timestamp"
    }
}

extension ProgressStore {
    /// Every job, ordered by id.
    public func jobSummaries() -> [JobSummary] {
        let now = clock.now()
        return state.withLock { state in state.orderedJobs().map { Self.summary(of: $0, now: now) } }
    }

    /// The agents of one job in registration order; nil when the job is unknown.
    /// Every agent of a job, ordered by id (as the API's pages are), or nil for an unknown job.
    public func agentSummaries(job id: String) -> [AgentSummary]? {
        let now = clock.now()
        return state.withLock { state -> [AgentSummary]? in
            guard let job = state.jobs[id] else { return nil }
            return job.agents.map { Self.agentSummary(of: $0, now: now) }
        }?.sorted { $0.agent < $1.agent }
    }

    static func agentSummary(of agent: AgentRecord, now: Double) -> AgentSummary {
        AgentSummary(
            agent: agent.id, state: agent.state.rawValue, item: agent.currentItem, step: agent.step,
            progressRatio: agent.itemProgress, etaSeconds: agent.itemETA(now: now),
            completed: agent.completed, failed: agent.failed, retries: agent.retries,
            consecutiveFailures: agent.consecutiveFailures, lastSeen: agent.lastSeen, lastProgress: agent.lastProgress)
    }

    static func summary(of job: JobRecord, now: Double) -> JobSummary {
        let estimate = CompletionEstimate.of(job, now: now)
        let eta = estimate?.seconds
        var byWindow: [String: Double] = [:]
        for window in JobRecord.windows { byWindow[window.label] = job.throughput(window: window.seconds, now: now) }
        var agents: [String: Int] = [:]
        for state in AgentState.allCases { agents[state.rawValue] = job.agentCount(state) }
        return JobSummary(
            job: job.id, status: job.status.rawValue, planned: job.planned, finished: job.finished,
            remaining: job.remaining, progressRatio: job.progressRatio,
            throughput: byWindow["5m"] ?? 0, throughputByWindow: byWindow,
            etaSeconds: eta, etaLowerSeconds: estimate?.lower, etaUpperSeconds: estimate?.upper,
            estimatedCompletion: CompletionEstimate.completionTime(of: job, estimate: estimate, now: now),
            waitingOn: estimate.flatMap { $0.waitingOn.isEmpty ? nil : $0.waitingOn },
            plannedWork: job.work.planned, finishedWork: job.work.planned.map { _ in job.work.finished },
            workPerSecond: job.work.planned == nil ? nil : estimate.flatMap { e in job.work.perItem.map { e.rate * $0.work } },
            completed: job.completed, failed: job.failed, deadLettered: job.deadLettered, retries: job.retries,
            agents: agents, startTime: job.since, lastEventTime: job.lastEventTime, deadline: job.deadline,
            allItemsFinished: job.allItemsFinished,
            mostCommonFailure: job.failureLog.reasons.first.map { JobFailures.Reason(reason: $0.reason, count: $0.count) })
    }
}
