/// Chooses the agents whose own series are exported: at most `maxAgentSeries` (and at most a job's own
/// limit where one is set), always those with alerts or matching `alwaysKeepAgents`, the rest by lowest
/// stable hash, so the same agents stay in the sample from scrape to scrape.
struct AgentSampler {
    let options: StoreOptions
    let mustKeep: (String, String) -> Bool

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

        /// The `room` smallest of `hashes`, or all when they fit.
        static func keeping(_ room: Int, of hashes: [UInt64]) -> Limit {
            guard hashes.count > room else { return .all }
            guard room > 0 else { return .none }
            // The room-th smallest hash is the cut; ties at the cut are vanishingly rare with 64-bit hashes.
            return .upTo(hashes.sorted()[room - 1])
        }
    }

    /// The cuts of one scrape: a candidate is kept when both its job's cut and the global cut admit it.
    struct Cut {
        var global = Limit.all
        var perJob: [String: Limit] = [:]
    }

    func isForced(_ job: JobRecord, _ agent: AgentRecord) -> Bool {
        mustKeep(job.id, agent.id) || options.alwaysKeepAgents.contains { $0.matches(agent.id) }
    }

    /// Looks at every agent once (under the store's lock) and finds the cuts.
    func cut(_ jobs: [JobRecord]) -> Cut {
        var cut = Cut()
        var candidates: [UInt64] = []
        var forced = 0
        for job in jobs {
            var own: [UInt64] = []
            for agent in job.agents {
                if isForced(job, agent) { forced += 1 } else { own.append(agent.sampleHash) }
            }
            if let limit = options.jobMaxAgentSeries.first(where: { $0.jobs.matches(job.id) })?.limit {
                let jobCut = Limit.keeping(limit, of: own)
                cut.perJob[job.id] = jobCut
                own = own.filter(jobCut.admits)
            }
            candidates.append(contentsOf: own)
        }
        cut.global = .keeping(max(0, options.maxAgentSeries - forced), of: candidates)
        return cut
    }

    func keeps(_ job: JobRecord, _ agent: AgentRecord, _ cut: Cut) -> Bool {
        if isForced(job, agent) { return true }
        return (cut.perJob[job.id] ?? .all).admits(agent.sampleHash) && cut.global.admits(agent.sampleHash)
    }
}
