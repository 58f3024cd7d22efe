import Events
import Exposition
import Synchronization

/// The store's jobs, sampled agents and ingest counters as Prometheus families: the one reader
/// that renders for `/metrics`. The store holds state; this type holds how it is written out and
/// the cache of what did not change since the last scrape. Keep one per store for the process's
/// life (the cache lives here); scrapes may run at once.
public final class StoreExposition: Sendable {
    let store: ProgressStore
    /// Each job's lines that do not depend on the time of the scrape, as the last scrape rendered
    /// them, by job id; valid while the job's `changedAt` and its kept agents are the same and no
    /// restore came between. (A job forgotten and seen again is a new record with a newer
    /// `changedAt`: sequence numbers only grow, except at a restore.)
    private let cache = Mutex<[String: (restores: UInt64, lines: RenderedJob)]>([:])

    public init(_ store: ProgressStore) { self.store = store }

    /// The lines kept for `job` by the last scrape that rendered it (for tests).
    func cachedLines(job: String) -> RenderedJob? { cache.withLock { $0[job]?.lines } }

    /// Writes every job, sampled agent and ingest family into `writer`, in a fixed order:
    /// families as declared, jobs by id, agents in the order they registered.
    /// `mustKeep` names agents that stay in the sample whatever their hash (those with alerts).
    ///
    /// The store's lock is held for one job at a time: each job is rendered whole (a consistent view
    /// of it), and ingestion runs between jobs, so a large scrape does not stop ingestion for its
    /// whole length. A job's lines that do not depend on the time (`RenderedJob`) are rendered once
    /// per change of the job and sent by reference; only rates, ETCs and success ratios are
    /// rendered on every scrape, into `sections`.
    /// `sections` are per-family buffers; pass the same ones on every scrape (one scrape at a time
    /// per set) to reuse their memory.
    public func collect(
        into writer: inout ExpositionWriter, mustKeep: KeptAgents = .none,
        sections: CollectSections = CollectSections()
    ) {
        let now = store.clock.now()
        collect(into: &writer, now: now, sampler: AgentSampler(options: store.options, mustKeep: mustKeep), sections: sections)
    }

    private func collect(into writer: inout ExpositionWriter, now: Double, sampler: AgentSampler, sections: CollectSections) {
        // The cut looks at one job per hold of the lock (its sample candidates, built first if
        // missing since a start, a restore or an expiry); the global cut over all of them is made
        // outside the lock. In one hold, the cut of 100 jobs' candidates took 10-16 ms at 1M agents.
        let state = store.state
        let (jobs, restores) = state.withLock { ($0.orderedJobs(), $0.restores) }
        var cutting = AgentSampler.CutInProgress()
        for job in jobs {
            state.letWaitersIn()
            state.withLock { _ in sampler.add(job, to: &cutting) }
        }
        let cut = sampler.finish(cutting)
        for section in sections.timed { section.removeAll() }
        var kept = 0
        var rendered: [RenderedJob] = []
        rendered.reserveCapacity(jobs.count)
        // Another scrape may replace an entry meanwhile: either one is current for the job it was
        // made from, and `isCurrent` checks it against the job as this scrape sees it.
        var cached = cache.withLock { $0 }
        for job in jobs {
            state.letWaitersIn()
            state.withLock { _ in
                let agents = sampler.kept(job, cut)
                let ids = agents.map(ObjectIdentifier.init)
                if let kept = cached[job.id], kept.restores == restores, kept.lines.isCurrent(changedAt: job.changedAt, agents: ids) {
                    rendered.append(kept.lines)
                } else {
                    for section in sections.scratch { section.removeAll() }
                    writeJob(job, into: sections.scratch)
                    Self.writeAgents(agents, into: sections.scratch)
                    let fresh = RenderedJob(changedAt: job.changedAt, agents: ids, joining: sections.scratch)
                    cached[job.id] = (restores, fresh)
                    rendered.append(fresh)
                }
                Self.writeTimedJob(job, now: now, into: sections.timed)
                Self.writeTimedAgents(agents, now: now, into: sections.timed)
                kept += agents.count
            }
        }
        // Jobs that are gone take their lines with them.
        if cached.count > jobs.count {
            let current = Set(jobs.lazy.map(\.id))
            cached = cached.filter { current.contains($0.key) }
        }
        cache.withLock { $0 = cached }
        for (index, family) in Self.families.enumerated() {
            writer.family(family)
            if Self.timedFamilies.contains(index) {
                writer.append(sections.timed[index])
            } else {
                for job in rendered {
                    let range = job.range(ofFamily: index)
                    writer.append(job.buffer, from: range.start, to: range.end)
                }
            }
        }
        state.withLock { state in
            Self.writeIngest(state, kept: kept, dropped: max(0, state.trackedAgents - kept), into: &writer)
        }
    }

    private typealias M = ProgressMetrics

    /// Job and agent families in output order; `Section` indexes them.
    static let families: [MetricFamily] = [
        M.jobInfo, M.jobItems, M.jobRemaining, M.jobProcessed, M.jobRetries, M.jobRatio, M.jobThroughput, M.jobETA,
        M.jobETALower, M.jobETAUpper, M.jobCompletion, M.jobDeadline, M.jobAgents, M.jobSuccess, M.jobDuration, M.jobStart, M.jobLastEvent,
        M.agentState, M.agentRatio, M.agentETA, M.agentThroughput, M.agentProcessed, M.agentRetries,
        M.agentConsecutiveFailures, M.agentLastSeen, M.agentLastProgress, M.jobFailureReasons, M.jobWorkPlanned, M.jobWorkFinished,
    ]

    private enum Section {
        static let jobInfo = 0, jobItems = 1, jobRemaining = 2, jobProcessed = 3, jobRetries = 4, jobRatio = 5
        static let jobThroughput = 6, jobETA = 7, jobETALower = 8, jobETAUpper = 9, jobCompletion = 10, jobDeadline = 11
        static let jobAgents = 12, jobSuccess = 13, jobDuration = 14, jobStart = 15, jobLastEvent = 16, agentState = 17
        static let agentRatio = 18, agentETA = 19, agentThroughput = 20, agentProcessed = 21, agentRetries = 22, agentConsecutiveFailures = 23
        static let agentLastSeen = 24, agentLastProgress = 25, jobFailureReasons = 26, jobWorkPlanned = 27, jobWorkFinished = 28
    }

    /// Families whose values depend on the time of the scrape (rolling windows, ETCs), rendered on
    /// every scrape; every other family is a function of the job's state alone.
    static let timedFamilies: Set<Int> = [
        Section.jobThroughput, Section.jobETA, Section.jobETALower, Section.jobETAUpper, Section.jobCompletion,
        Section.jobSuccess, Section.agentETA, Section.agentThroughput,
    ]

    /// The job's lines that depend on its state alone.
    private func writeJob(_ job: JobRecord, into s: [SampleSection]) {
        Self.writeJob(job, into: s)
        for (reason, count) in job.failureLog.reasonSeries(limit: store.options.failureReasons) {
            s[Section.jobFailureReasons].sample(M.jobFailureReasons, job.labels.appending("reason", reason), .empty, Double(count))
        }
    }

    private static func writeJob(_ job: JobRecord, into s: [SampleSection]) {
        let labels = job.labels
        s[Section.jobInfo].sample(M.jobInfo, labels, M.statuses[JobStatus.allCases.firstIndex(of: job.status)!], 1)
        if let planned = job.planned { s[Section.jobItems].sample(M.jobItems, labels, .empty, Double(planned)) }
        if let remaining = job.remaining { s[Section.jobRemaining].sample(M.jobRemaining, labels, .empty, Double(remaining)) }
        for (outcome, count) in zip(M.outcomes, [job.completed, job.failed, job.deadLettered]) {
            s[Section.jobProcessed].sample(M.jobProcessed, labels, outcome.labels, Double(count))
        }
        s[Section.jobRetries].sample(M.jobRetries, labels, .empty, Double(job.retries))
        if let ratio = job.progressRatio { s[Section.jobRatio].sample(M.jobRatio, labels, .empty, ratio) }
        if let deadline = job.deadline { s[Section.jobDeadline].sample(M.jobDeadline, labels, .empty, deadline) }
        if let work = job.work.planned {
            s[Section.jobWorkPlanned].sample(M.jobWorkPlanned, labels, .empty, work)
            s[Section.jobWorkFinished].sample(M.jobWorkFinished, labels, .empty, job.work.finished)
        }
        for (index, state) in M.states.enumerated() {
            s[Section.jobAgents].sample(M.jobAgents, labels, state, Double(job.agentsByState[index]))
        }
        s[Section.jobDuration].histogram(
            M.jobDuration, labels, bounds: JobRecord.durationBounds, cumulativeCounts: job.cumulativeDurationCounts, sum: job.durationSum)
        s[Section.jobStart].sample(M.jobStart, labels, .empty, job.since)
        s[Section.jobLastEvent].sample(M.jobLastEvent, labels, .empty, job.lastEventTime)
    }

    /// The job's lines that depend on the time of the scrape.
    private static func writeTimedJob(_ job: JobRecord, now: Double, into s: [SampleSection]) {
        let labels = job.labels
        for window in M.windows {
            s[Section.jobThroughput].sample(M.jobThroughput, labels, window.labels, job.throughput(window: window.seconds, now: now))
        }
        let estimate = CompletionEstimate.of(job, now: now)
        if let eta = estimate {
            s[Section.jobETA].sample(M.jobETA, labels, .empty, eta.seconds)
            s[Section.jobETALower].sample(M.jobETALower, labels, .empty, eta.lower)
            if let upper = eta.upper { s[Section.jobETAUpper].sample(M.jobETAUpper, labels, .empty, upper) }
        }
        if let finish = CompletionEstimate.completionTime(of: job, estimate: estimate, now: now) {
            s[Section.jobCompletion].sample(M.jobCompletion, labels, .empty, finish)
        }
        for window in M.windows {
            if let ratio = job.successRatio(window: window.seconds, now: now) {
                s[Section.jobSuccess].sample(M.jobSuccess, labels, window.labels, ratio)
            }
        }
    }

    /// The kept agents' lines that depend on their state alone. The hottest loop of a changed
    /// job's render (16 lines per agent), so it reads each shared family and label set once.
    private static func writeAgents(_ agents: [AgentRecord], into s: [SampleSection]) {
        let states = M.states, outcomes = M.outcomes
        let completed = outcomes[0].labels, failed = outcomes[1].labels, deadLettered = outcomes[2].labels
        let stateSection = s[Section.agentState], ratioSection = s[Section.agentRatio]
        let processedSection = s[Section.agentProcessed]
        let retriesSection = s[Section.agentRetries], failuresSection = s[Section.agentConsecutiveFailures]
        let lastSeenSection = s[Section.agentLastSeen], lastProgressSection = s[Section.agentLastProgress]
        for agent in agents {
            let labels = agent.labels
            let current = agent.state.ordinal
            for index in states.indices {
                stateSection.sample(M.agentState, labels, states[index], current == index ? 1 : 0)
            }
            if let ratio = agent.itemProgress { ratioSection.sample(M.agentRatio, labels, .empty, ratio) }
            processedSection.sample(M.agentProcessed, labels, completed, Double(agent.completed))
            processedSection.sample(M.agentProcessed, labels, failed, Double(agent.failed))
            processedSection.sample(M.agentProcessed, labels, deadLettered, Double(agent.deadLettered))
            retriesSection.sample(M.agentRetries, labels, .empty, Double(agent.retries))
            failuresSection.sample(M.agentConsecutiveFailures, labels, .empty, Double(agent.consecutiveFailures))
            lastSeenSection.sample(M.agentLastSeen, labels, .empty, agent.lastSeen)
            if let last = agent.lastProgress { lastProgressSection.sample(M.agentLastProgress, labels, .empty, last) }
        }
    }

    /// The kept agents' lines that depend on the time of the scrape: every scrape renders these.
    private static func writeTimedAgents(_ agents: [AgentRecord], now: Double, into s: [SampleSection]) {
        let etaSection = s[Section.agentETA], throughputSection = s[Section.agentThroughput]
        let etaFamily = M.agentETA, throughputFamily = M.agentThroughput, none = LabelSet.empty
        for agent in agents {
            let labels = agent.labels
            if let eta = agent.itemETA(now: now) { etaSection.sample(etaFamily, labels, none, eta) }
            throughputSection.sample(throughputFamily, labels, none, agent.throughput(now: now))
        }
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
        w.family(M.untrackedJobs)
        w.sample(M.untrackedJobs, .empty, .empty, Double(stats.untrackedJobEvents))
        w.family(M.lastEvent)
        for source in stats.lastEventTime.keys.sorted() {
            w.sample(M.lastEvent, LabelSet([("source", source)]), .empty, stats.lastEventTime[source]!)
        }
        w.family(M.dedupIds)
        w.sample(M.dedupIds, .empty, .empty, Double(state.dedup.count))
        w.family(M.dedupBytes)
        w.sample(M.dedupBytes, .empty, .empty, Double(state.dedup.bytes))
        w.family(M.trackedJobs)
        w.sample(M.trackedJobs, .empty, .empty, Double(state.jobs.count))
        w.family(M.trackedAgents)
        w.sample(M.trackedAgents, .empty, .empty, Double(state.trackedAgents))
        w.family(M.agentSeries)
        w.sample(M.agentSeries, LabelSet([("series", "kept")]), .empty, Double(kept))
        w.sample(M.agentSeries, LabelSet([("series", "dropped")]), .empty, Double(dropped))
    }
}

/// The per-family buffers one scrape renders the store into; reused from scrape to scrape, one
/// scrape at a time, so that a large scrape does not allocate and fault in its memory every time.
/// `timed` collects the time-dependent lines of every job (sent by reference, so they stay
/// untouched until the response is sent); `scratch` holds one changed job's other lines until they
/// are joined into its `RenderedJob`.
public final class CollectSections: Sendable {
    let timed: [SampleSection]
    let scratch: [SampleSection]

    public init() {
        timed = StoreExposition.families.map { _ in SampleSection() }
        scratch = StoreExposition.families.map { _ in SampleSection() }
    }

    /// Bytes allocated by all sections.
    public var capacity: Int { (timed + scratch).reduce(0) { $0 + $1.capacity } }
}
