import HeapModule

/// The agents of one job with the smallest sample hashes, at most `capacity` of them
/// (`--agents.max-series`), kept up to date as agents register: no agent outside them can be in
/// the sample unless it is forced, so a scrape looks at these and the forced agents, not at every
/// agent of the job. Built lazily (after a restore, an expiry or a change of the limit).
struct SampleCandidates {
    struct Entry: Comparable {
        let hash: UInt64
        let agent: AgentRecord
        static func < (a: Entry, b: Entry) -> Bool { a.hash < b.hash }
        static func == (a: Entry, b: Entry) -> Bool { a.hash == b.hash && a.agent === b.agent }
    }

    private(set) var heap = Heap<Entry>()
    /// Agents matching `--agents.keep`, found when the candidates were built or as agents registered.
    private(set) var alwaysKept: [AgentRecord] = []
    /// The limit the candidates were built for; nil until built.
    private(set) var capacity: Int?

    /// Considers a newly registered agent (a no-op until built).
    mutating func offer(_ agent: AgentRecord, options: StoreOptions) {
        guard let capacity else { return }
        if options.alwaysKeepAgents.contains(where: { $0.matches(agent.id) }) { alwaysKept.append(agent) }
        guard capacity > 0 else { return }
        let entry = Entry(hash: agent.sampleHash, agent: agent)
        if heap.count < capacity {
            heap.insert(entry)
        } else if let largest = heap.max, entry < largest {
            _ = heap.replaceMax(with: entry)
        }
    }

    /// Makes sure the candidates are built for `options`; O(agents × log capacity) when they are not.
    mutating func ensure(_ agents: [AgentRecord], options: StoreOptions) {
        guard capacity != max(0, options.maxAgentSeries) else { return }
        capacity = max(0, options.maxAgentSeries)
        heap = Heap()
        alwaysKept = []
        for agent in agents { offer(agent, options: options) }
    }

    /// Forgets the candidates (agents were removed); the next scrape builds them again.
    mutating func invalidate() {
        capacity = nil
        heap = Heap()
        alwaysKept = []
    }
}
