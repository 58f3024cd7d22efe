/// Chooses the agents whose own series are exported: at most `limit`, always those in `mustKeep`,
/// the rest by lowest stable hash, so the same agents stay in the sample from scrape to scrape.
struct AgentSampler {
    let limit: Int

    /// For each job (in the given order), the indices of its kept agents.
    func keptAgents(of jobs: [JobRecord], mustKeep: (JobRecord, AgentRecord) -> Bool) -> (kept: [[Int]], dropped: Int) {
        let total = jobs.reduce(0) { $0 + $1.agents.count }
        if total <= limit {
            return (jobs.map { Array($0.agents.indices) }, 0)
        }
        var forced = 0
        var hashes: [UInt64] = []
        hashes.reserveCapacity(total)
        for job in jobs {
            for agent in job.agents {
                if mustKeep(job, agent) { forced += 1 } else { hashes.append(agent.sampleHash) }
            }
        }
        let room = max(0, limit - forced)
        // The room-th smallest hash is the cut; ties at the cut are vanishingly rare with 64-bit hashes.
        let threshold: UInt64? = room == 0 ? nil : hashes.sorted()[min(room, hashes.count) - 1]
        var keptCount = 0
        let kept = jobs.map { job in
            job.agents.indices.filter { index in
                let agent = job.agents[index]
                let keep = mustKeep(job, agent) || (threshold.map { agent.sampleHash <= $0 } ?? false)
                if keep { keptCount += 1 }
                return keep
            }
        }
        return (kept, total - keptCount)
    }
}
