import HeapModule

/// Chooses the agents whose own series are exported: at most `maxAgentSeries` (and at most a job's own
/// limit where one is set), always those with alerts or matching `alwaysKeepAgents`, the rest by lowest
/// stable hash, so the same agents stay in the sample from scrape to scrape.
///
/// A scrape looks at each job's sample candidates (its agents with the smallest hashes, kept as
/// agents register) and its forced agents, not at every agent: with a million tracked agents and
/// the default sample it visits about a thousand per job at most. A job whose candidates include a
/// forced agent (rare: an agent with an alert among the smallest hashes) is looked at whole, so the
/// choice stays exactly the one a full pass would make.
struct AgentSampler {
    let options: StoreOptions
    let mustKeep: KeptAgents

    /// Which hashes a cut lets through.
    enum Limit {
        case all, none
        case upTo(UInt64)

        func admits(_ hash: UInt64) -> Bool {
            switch self {
            case .all: return true
            case .none: return false
            case .upTo(let cut): return hash <= cut
            }
        }

        /// The `room` smallest of `hashes`, or all when they fit: a bounded max-heap, so this costs
        /// n × log(room), not a sort of every candidate.
        static func keeping(_ room: Int, of hashes: [UInt64]) -> Limit {
            guard hashes.count > room else { return .all }
            guard room > 0 else { return .none }
            var smallest = Heap<UInt64>()
            for hash in hashes {
                if smallest.count < room {
                    smallest.insert(hash)
                } else if hash < smallest.max! {
                    _ = smallest.replaceMax(with: hash)
                }
            }
            // The room-th smallest hash is the cut; ties at the cut are vanishingly rare with 64-bit hashes.
            return .upTo(smallest.max!)
        }
    }

    /// The cuts of one scrape and, per job, what to visit: a candidate is kept when both its job's
    /// cut and the global cut admit it.
    struct Cut {
        var global = Limit.all
        var perJob: [String: Limit] = [:]
        /// Jobs to visit whole (their candidates could not decide alone).
        var wholeJobs: Set<ObjectIdentifier> = []
        /// Forced agents of each job, when known without visiting every agent.
        var forced: [ObjectIdentifier: [AgentRecord]] = [:]
    }

    func isForced(_ job: JobRecord, _ agent: AgentRecord) -> Bool {
        mustKeep(job.id, agent.id) || options.alwaysKeepAgents.contains { $0.matches(agent.id) }
    }

    /// A cut in the making, one job at a time: `add` each job under the store's lock (one job per
    /// hold, so the cut of a million agents' candidates does not stop ingestion for all of them),
    /// then `finish` outside it. Each job is added as of the batch before its hold; a scrape
    /// renders each job at a batch of its own anyway, so the sample is the one a pass over every
    /// agent would choose when nothing changes in between, and the per-job choice stays exact.
    struct CutInProgress {
        fileprivate var cut = Cut()
        fileprivate var candidates: [UInt64] = []
        fileprivate var forcedCount = 0
    }

    /// Adds one job's candidates and forced agents, under the store's lock.
    func add(_ job: JobRecord, to progress: inout CutInProgress) {
        var own: [UInt64] = []
        if let byJob = mustKeep.byJob {
            job.candidates.ensure(job.agents, options: options)
            // The same alerts and an unchanged job choose the same: thousands of agents with alerts
            // cost a scrape a lookup by id each otherwise.
            if let last = job.forcedSelection, last.kept === mustKeep.identity, last.changedAt == job.changedAt {
                progress.forcedCount += last.forced.count
                progress.cut.forced[ObjectIdentifier(job)] = last.forced
                if last.wholeJob { progress.cut.wholeJobs.insert(ObjectIdentifier(job)) }
                limitPerJob(job, last.own, progress: &progress)
                return
            }
            var forced: [AgentRecord] = job.candidates.alwaysKept
            var forcedIDs = Set(forced.map(ObjectIdentifier.init))
            for id in byJob[job.id] ?? [] {
                guard let index = job.agentIndex[id] else { continue }
                let agent = job.agents[index]
                if forcedIDs.insert(ObjectIdentifier(agent)).inserted { forced.append(agent) }
            }
            progress.forcedCount += forced.count
            progress.cut.forced[ObjectIdentifier(job)] = forced
            var decided = true
            for entry in job.candidates.heap.unordered {
                if forcedIDs.contains(ObjectIdentifier(entry.agent)) { decided = false } else { own.append(entry.hash) }
            }
            let wholeJob = !decided && job.agents.count > job.candidates.heap.count
            if wholeJob {
                progress.cut.wholeJobs.insert(ObjectIdentifier(job))
                own = job.agents.filter { !forcedIDs.contains(ObjectIdentifier($0)) }.map(\.sampleHash)
            }
            job.forcedSelection = ForcedSelection(kept: mustKeep.identity, changedAt: job.changedAt, forced: forced, own: own, wholeJob: wholeJob)
        } else {
            progress.cut.wholeJobs.insert(ObjectIdentifier(job))
            for agent in job.agents {
                if isForced(job, agent) { progress.forcedCount += 1 } else { own.append(agent.sampleHash) }
            }
        }
        limitPerJob(job, own, progress: &progress)
    }

    /// Applies the job's own `--agents.job-max-series` limit to its candidates and adds the rest.
    private func limitPerJob(_ job: JobRecord, _ own: [UInt64], progress: inout CutInProgress) {
        var own = own
        if let limit = options.jobMaxAgentSeries.first(where: { $0.jobs.matches(job.id) })?.limit {
            let jobCut = Limit.keeping(limit, of: own)
            progress.cut.perJob[job.id] = jobCut
            own = own.filter(jobCut.admits)
        }
        progress.candidates.append(contentsOf: own)
    }

    /// The global cut over every job added; needs no lock.
    func finish(_ progress: CutInProgress) -> Cut {
        var cut = progress.cut
        cut.global = .keeping(max(0, options.maxAgentSeries - progress.forcedCount), of: progress.candidates)
        return cut
    }

    /// The kept agents of one job, in registration order.
    func kept(_ job: JobRecord, _ cut: Cut) -> [AgentRecord] {
        let jobCut = cut.perJob[job.id] ?? .all
        func admitted(_ agent: AgentRecord) -> Bool { jobCut.admits(agent.sampleHash) && cut.global.admits(agent.sampleHash) }
        if cut.wholeJobs.contains(ObjectIdentifier(job)) {
            return job.agents.filter { isForced(job, $0) || admitted($0) }
        }
        let forced = cut.forced[ObjectIdentifier(job)] ?? []
        var chosen = forced
        var seen = Set(forced.map(ObjectIdentifier.init))
        for entry in job.candidates.heap.unordered where admitted(entry.agent) && seen.insert(ObjectIdentifier(entry.agent)).inserted {
            chosen.append(entry.agent)
        }
        // Every agent kept (a sample larger than the job): they are the job's own list, in its order.
        if chosen.count == job.agents.count { return job.agents }
        return chosen
            .map { (index: job.agentIndex[$0.id] ?? Int.max, agent: $0) }
            .sorted { $0.index < $1.index }
            .map(\.agent)
    }
}

/// What a scrape chose for one job from a set of kept agents: reused by the next scrape while the
/// set (its identity) and the job (`changedAt`) are the same.
struct ForcedSelection {
    let kept: KeptAgents.Identity
    let changedAt: UInt64
    let forced: [AgentRecord]
    /// The hashes of the job's other candidates, before its own limit.
    let own: [UInt64]
    let wholeJob: Bool
}
