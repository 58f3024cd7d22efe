import Events
import Exposition

extension ProgressStore {
    /// Writes every job, sampled agent and ingest family into `writer`, in a fixed order:
    /// families as declared, jobs by id, agents in the order they registered.
    /// `mustKeep` names agents that stay in the sample whatever their hash (those with alerts).
    ///
    /// The store's lock is held for one job at a time: each job is rendered whole (a consistent view
    /// of it) into per-family sections, and ingestion runs between jobs, so a large scrape does not
    /// stop ingestion for its whole length.
    public func collect(into writer: inout ExpositionWriter, mustKeep: @Sendable (String, String) -> Bool = { _, _ in false }) {
        let now = clock.now()
        withoutActuallyEscaping(mustKeep) { mustKeep in
            collect(into: &writer, now: now, sampler: AgentSampler(options: options, mustKeep: mustKeep))
        }
    }

    private func collect(into writer: inout ExpositionWriter, now: Double, sampler: AgentSampler) {
        let (jobs, cut) = state.withLock { state in
            let jobs = state.orderedJobs()
            return (jobs, sampler.cut(jobs))
        }
        var sections = Array(repeating: SampleSection(), count: Self.families.count)
        var kept = 0
        for job in jobs {
            state.withLock { _ in
                Self.writeJob(job, now: now, into: &sections)
                kept += Self.writeAgents(of: job, now: now, into: &sections) { sampler.keeps(job, $0, cut) }
            }
        }
        for (family, section) in zip(Self.families, sections) {
            writer.family(family)
            writer.append(section)
        }
        state.withLock { state in
            Self.writeIngest(state, kept: kept, dropped: max(0, state.trackedAgents - kept), into: &writer)
        }
    }

    private typealias M = ProgressMetrics

    /// Job and agent families in output order; `Section` indexes them.
    static let families: [MetricFamily] = [
        M.jobInfo, M.jobItems, M.jobRemaining, M.jobProcessed, M.jobRetries, M.jobRatio, M.jobThroughput, M.jobETA,
        M.jobCompletion, M.jobDeadline, M.jobAgents, M.jobSuccess, M.jobDuration, M.jobStart, M.jobLastEvent,
        M.agentState, M.agentRatio, M.agentETA, M.agentThroughput, M.agentProcessed, M.agentRetries,
        M.agentConsecutiveFailures, M.agentLastSeen, M.agentLastProgress,
    ]

    private enum Section {
        static let jobInfo = 0, jobItems = 1, jobRemaining = 2, jobProcessed = 3, jobRetries = 4, jobRatio = 5
        static let jobThroughput = 6, jobETA = 7, jobCompletion = 8, jobDeadline = 9, jobAgents = 10, jobSuccess = 11
        static let jobDuration = 12, jobStart = 13, jobLastEvent = 14
        static let agentState = 15, agentRatio = 16, agentETA = 17, agentThroughput = 18, agentProcessed = 19
        static let agentRetries = 20, agentConsecutiveFailures = 21, agentLastSeen = 22, agentLastProgress = 23
    }

    private static func writeJob(_ job: JobRecord, now: Double, into s: inout [SampleSection]) {
        let labels = job.labels
        s[Section.jobInfo].sample(M.jobInfo, labels, M.statuses[JobStatus.allCases.firstIndex(of: job.status)!], 1)
        if let planned = job.planned { s[Section.jobItems].sample(M.jobItems, labels, .empty, Double(planned)) }
        if let remaining = job.remaining { s[Section.jobRemaining].sample(M.jobRemaining, labels, .empty, Double(remaining)) }
        for (outcome, count) in zip(M.outcomes, [job.completed, job.failed, job.deadLettered]) {
            s[Section.jobProcessed].sample(M.jobProcessed, labels, outcome.labels, Double(count))
        }
        s[Section.jobRetries].sample(M.jobRetries, labels, .empty, Double(job.retries))
        if let ratio = job.progressRatio { s[Section.jobRatio].sample(M.jobRatio, labels, .empty, ratio) }
        for window in M.windows {
            s[Section.jobThroughput].sample(M.jobThroughput, labels, window.labels, job.throughput(window: window.seconds, now: now))
        }
        if let eta = CompletionEstimate.seconds(job, now: now) {
            s[Section.jobETA].sample(M.jobETA, labels, .empty, eta)
            s[Section.jobCompletion].sample(M.jobCompletion, labels, .empty, now + eta)
        }
        if let deadline = job.deadline { s[Section.jobDeadline].sample(M.jobDeadline, labels, .empty, deadline) }
        for (index, state) in M.states.enumerated() {
            s[Section.jobAgents].sample(M.jobAgents, labels, state, Double(job.agentsByState[index]))
        }
        for window in M.windows {
            if let ratio = job.successRatio(window: window.seconds, now: now) {
                s[Section.jobSuccess].sample(M.jobSuccess, labels, window.labels, ratio)
            }
        }
        s[Section.jobDuration].histogram(
            M.jobDuration, labels, bounds: JobRecord.durationBounds, cumulativeCounts: job.cumulativeDurationCounts, sum: job.durationSum)
        s[Section.jobStart].sample(M.jobStart, labels, .empty, job.since)
        s[Section.jobLastEvent].sample(M.jobLastEvent, labels, .empty, job.lastEventTime)
    }

    /// Writes the kept agents of one job; returns how many it kept.
    private static func writeAgents(
        of job: JobRecord, now: Double, into s: inout [SampleSection], keeps: (AgentRecord) -> Bool
    ) -> Int {
        var kept = 0
        for agent in job.agents where keeps(agent) {
            kept += 1
            let labels = agent.labels
            let current = agent.state.ordinal
            for (index, state) in M.states.enumerated() {
                s[Section.agentState].sample(M.agentState, labels, state, current == index ? 1 : 0)
            }
            if let ratio = agent.itemProgress { s[Section.agentRatio].sample(M.agentRatio, labels, .empty, ratio) }
            if let eta = agent.itemETA(now: now) { s[Section.agentETA].sample(M.agentETA, labels, .empty, eta) }
            s[Section.agentThroughput].sample(M.agentThroughput, labels, .empty, agent.throughput(now: now))
            for (outcome, count) in zip(M.outcomes, [agent.completed, agent.failed, agent.deadLettered]) {
                s[Section.agentProcessed].sample(M.agentProcessed, labels, outcome.labels, Double(count))
            }
            s[Section.agentRetries].sample(M.agentRetries, labels, .empty, Double(agent.retries))
            s[Section.agentConsecutiveFailures].sample(M.agentConsecutiveFailures, labels, .empty, Double(agent.consecutiveFailures))
            s[Section.agentLastSeen].sample(M.agentLastSeen, labels, .empty, agent.lastSeen)
            if let last = agent.lastProgress { s[Section.agentLastProgress].sample(M.agentLastProgress, labels, .empty, last) }
        }
        return kept
    }

    private static func writeIngest(_ state: StoreState, kept: Int, dropped: Int, into w: inout ExpositionWriter) {
        let stats = state.stats
        w.family(M.received)
        for source in stats.received.keys.sorted() {
            w.sample(M.received, LabelSet([("source", source)]), .empty, Double(stats.received[source]!))
        }
        w.family(M.rejected)
        let reasons = Set(rejectReasons).union(stats.rejected.keys).sorted()
        for reason in reasons { w.sample(M.rejected, LabelSet([("reason", reason)]), .empty, Double(stats.rejected[reason] ?? 0)) }
        w.family(M.ignored)
        for kind in stats.ignored.keys.sorted() { w.sample(M.ignored, LabelSet([("kind", kind)]), .empty, Double(stats.ignored[kind]!)) }
        w.family(M.duplicates)
        w.sample(M.duplicates, .empty, .empty, Double(stats.duplicates))
        w.family(M.untracked)
        w.sample(M.untracked, .empty, .empty, Double(stats.untrackedAgentEvents))
        w.family(M.lastEvent)
        for source in stats.lastEventTime.keys.sorted() {
            w.sample(M.lastEvent, LabelSet([("source", source)]), .empty, stats.lastEventTime[source]!)
        }
        w.family(M.trackedJobs)
        w.sample(M.trackedJobs, .empty, .empty, Double(state.jobs.count))
        w.family(M.trackedAgents)
        w.sample(M.trackedAgents, .empty, .empty, Double(state.trackedAgents))
        w.family(M.agentSeries)
        w.sample(M.agentSeries, LabelSet([("series", "kept")]), .empty, Double(kept))
        w.sample(M.agentSeries, LabelSet([("series", "dropped")]), .empty, Double(dropped))
    }
}
