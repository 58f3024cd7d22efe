/// The agents of a job that hold an item, by when their item started: a min-heap of (start, agent)
/// entries, so the ETC reads the items older than their peers without visiting every agent of the
/// job (a job of 100,000 agents is read at every scrape). Entries go stale when the item ends or
/// another starts; stale entries are dropped from the top as items end, and the heap is rebuilt
/// when they outnumber the live ones. Derived state: not in snapshots, rebuilt on restore.
struct HeldItems {
    // The heap in two parallel arrays: sifting compares starts only, and reading a start from an
    // array of `(Double, AgentRecord)` retained and released the agent on every comparison (4 % of
    // ingest's samples went to `swift_retain`, mostly from here).
    private var starts: [Double] = []
    private var agents: [AgentRecord] = []

    /// The agent holds the item it holds now, since `itemStartTime`.
    static func isLive(start: Double, agent: AgentRecord) -> Bool {
        agent.holdsItem && agent.itemStartTime == start
    }

    var count: Int { starts.count }

    /// Records that `agent` began holding an item (or a new one). `holding` is the job's items in flight.
    mutating func add(_ agent: AgentRecord, holding: Int) {
        guard agent.holdsItem, let start = agent.itemStartTime else { return }
        starts.append(start)
        agents.append(agent)
        siftUp(starts.count - 1)
        trim(holding: holding)
    }

    /// Drops stale entries from the top, and rebuilds the heap when stale ones are the majority.
    mutating func trim(holding: Int) {
        while let start = starts.first, !Self.isLive(start: start, agent: agents[0]) { removeTop() }
        if starts.count > 2 * holding + 64 {
            let live = starts.indices.filter { Self.isLive(start: starts[$0], agent: agents[$0]) }
            rebuild(starts: live.map { starts[$0] }, agents: live.map { agents[$0] })
        }
    }

    /// Rebuilds from the agents' current items (after agents were removed, or on restore).
    mutating func rebuild(from agents: [AgentRecord]) {
        let holding = agents.filter { $0.holdsItem && $0.itemStartTime != nil }
        rebuild(starts: holding.map { $0.itemStartTime! }, agents: holding)
    }

    /// Every agent holding an item that started at or before `time`, each once, in no particular order.
    func agents(startedBy time: Double) -> [AgentRecord] {
        var found: [AgentRecord] = []
        var seen = Set<ObjectIdentifier>()
        var stack: [Int] = starts.isEmpty ? [] : [0]
        while let index = stack.popLast() {
            let start = starts[index]
            guard start <= time else { continue }   // a min-heap: its children started later still
            let agent = agents[index]
            if Self.isLive(start: start, agent: agent), seen.insert(ObjectIdentifier(agent)).inserted { found.append(agent) }
            if 2 * index + 1 < starts.count { stack.append(2 * index + 1) }
            if 2 * index + 2 < starts.count { stack.append(2 * index + 2) }
        }
        return found
    }

    private mutating func rebuild(starts: [Double], agents: [AgentRecord]) {
        self.starts = starts
        self.agents = agents
        var index = starts.count / 2
        while index > 0 {
            index -= 1
            siftDown(index)
        }
    }

    private mutating func removeTop() {
        let lastStart = starts.removeLast(), lastAgent = agents.removeLast()
        guard !starts.isEmpty else { return }
        starts[0] = lastStart
        agents[0] = lastAgent
        siftDown(0)
    }

    private mutating func swapEntries(_ a: Int, _ b: Int) {
        starts.swapAt(a, b)
        agents.swapAt(a, b)
    }

    private mutating func siftUp(_ start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            guard starts[child] < starts[parent] else { return }
            swapEntries(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        while true {
            var smallest = parent
            let left = 2 * parent + 1, right = left + 1
            if left < starts.count, starts[left] < starts[smallest] { smallest = left }
            if right < starts.count, starts[right] < starts[smallest] { smallest = right }
            guard smallest != parent else { return }
            swapEntries(parent, smallest)
            parent = smallest
        }
    }
}
