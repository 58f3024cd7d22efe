import Events
import Exposition

extension ProgressStore {
    /// Writes every job, sampled agent and ingest family into `writer`, in a fixed order:
    /// families as declared, jobs by id, agents in the order they registered.
    /// `mustKeep` names agents that stay in the sample whatever their hash (those with alerts).
    public func collect(into writer: inout ExpositionWriter, mustKeep: @Sendable (String, String) -> Bool = { _, _ in false }) {
        let now = clock.now()
        let limit = options.maxAgentSeries
        state.withLock { state in
            let jobs = state.orderedJobs()
            let sample = AgentSampler(limit: limit).keptAgents(of: jobs) { mustKeep($0.id, $1.id) }
            Self.writeJobs(jobs, now: now, into: &writer)
            Self.writeAgents(jobs, kept: sample.kept, now: now, into: &writer)
            Self.writeIngest(state, kept: state.trackedAgents - sample.dropped, dropped: sample.dropped, into: &writer)
        }
    }

    private typealias M = ProgressMetrics

    private static func writeJobs(_ jobs: [JobRecord], now: Double, into w: inout ExpositionWriter) {
        w.family(M.jobInfo)
        for job in jobs {
            w.sample(M.jobInfo, job.labels, M.statuses[JobStatus.allCases.firstIndex(of: job.status)!], 1)
        }
        w.family(M.jobItems)
        for job in jobs { if let planned = job.planned { w.sample(M.jobItems, job.labels, .empty, Double(planned)) } }
        w.family(M.jobRemaining)
        for job in jobs { if let remaining = job.remaining { w.sample(M.jobRemaining, job.labels, .empty, Double(remaining)) } }
        w.family(M.jobProcessed)
        for job in jobs {
            let counts = [job.completed, job.failed, job.deadLettered]
            for (outcome, count) in zip(M.outcomes, counts) { w.sample(M.jobProcessed, job.labels, outcome.labels, Double(count)) }
        }
        w.family(M.jobRetries)
        for job in jobs { w.sample(M.jobRetries, job.labels, .empty, Double(job.retries)) }
        w.family(M.jobRatio)
        for job in jobs { if let ratio = job.progressRatio { w.sample(M.jobRatio, job.labels, .empty, ratio) } }
        w.family(M.jobThroughput)
        for job in jobs {
            for window in M.windows {
                w.sample(M.jobThroughput, job.labels, window.labels, job.throughput(window: window.seconds, now: now))
            }
        }
        let etas = jobs.map { CompletionEstimate.seconds($0, now: now) }
        w.family(M.jobETA)
        for (job, eta) in zip(jobs, etas) { if let eta { w.sample(M.jobETA, job.labels, .empty, eta) } }
        w.family(M.jobCompletion)
        for (job, eta) in zip(jobs, etas) { if let eta { w.sample(M.jobCompletion, job.labels, .empty, now + eta) } }
        w.family(M.jobDeadline)
        for job in jobs { if let deadline = job.deadline { w.sample(M.jobDeadline, job.labels, .empty, deadline) } }
        w.family(M.jobAgents)
        for job in jobs {
            for (index, state) in M.states.enumerated() { w.sample(M.jobAgents, job.labels, state, Double(job.agentsByState[index])) }
        }
        w.family(M.jobSuccess)
        for job in jobs {
            for window in M.windows {
                if let ratio = job.successRatio(window: window.seconds, now: now) { w.sample(M.jobSuccess, job.labels, window.labels, ratio) }
            }
        }
        w.family(M.jobDuration)
        for job in jobs {
            w.histogram(M.jobDuration, job.labels, bounds: JobRecord.durationBounds, cumulativeCounts: job.cumulativeDurationCounts, sum: job.durationSum)
        }
        w.family(M.jobStart)
        for job in jobs { w.sample(M.jobStart, job.labels, .empty, job.since) }
        w.family(M.jobLastEvent)
        for job in jobs { w.sample(M.jobLastEvent, job.labels, .empty, job.lastEventTime) }
    }

    private static func writeAgents(_ jobs: [JobRecord], kept: [[Int]], now: Double, into w: inout ExpositionWriter) {
        func each(_ body: (AgentRecord) -> Void) {
            for (job, indices) in zip(jobs, kept) { for index in indices { body(job.agents[index]) } }
        }
        w.family(M.agentState)
        each { agent in
            for (index, state) in M.states.enumerated() { w.sample(M.agentState, agent.labels, state, agent.state.ordinal == index ? 1 : 0) }
        }
        w.family(M.agentRatio)
        each { agent in if let ratio = agent.itemProgress { w.sample(M.agentRatio, agent.labels, .empty, ratio) } }
        w.family(M.agentETA)
        each { agent in if let eta = agent.itemETA(now: now) { w.sample(M.agentETA, agent.labels, .empty, eta) } }
        w.family(M.agentThroughput)
        each { agent in w.sample(M.agentThroughput, agent.labels, .empty, agent.throughput(now: now)) }
        w.family(M.agentProcessed)
        each { agent in
            let counts = [agent.completed, agent.failed, agent.deadLettered]
            for (outcome, count) in zip(M.outcomes, counts) { w.sample(M.agentProcessed, agent.labels, outcome.labels, Double(count)) }
        }
        w.family(M.agentRetries)
        each { agent in w.sample(M.agentRetries, agent.labels, .empty, Double(agent.retries)) }
        w.family(M.agentConsecutiveFailures)
        each { agent in w.sample(M.agentConsecutiveFailures, agent.labels, .empty, Double(agent.consecutiveFailures)) }
        w.family(M.agentLastSeen)
        each { agent in w.sample(M.agentLastSeen, agent.labels, .empty, agent.lastSeen) }
        w.family(M.agentLastProgress)
        each { agent in if let last = agent.lastProgress { w.sample(M.agentLastProgress, agent.labels, .empty, last) } }
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
