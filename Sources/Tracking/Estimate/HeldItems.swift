/// The agents of a job that hold an item, by when their item started: a min-heap of (start, agent)
/// entries, so the ETC reads the items older than their peers without visiting every agent of the
/// job (a job of 100,000 agents is read at every scrape). Entries go stale when the item ends or
/// another starts; stale entries are dropped from the top as items end, and the heap is rebuilt
/// when they outnumber the live ones. Derived state: not in snapshots, rebuilt on restore.
struct HeldItems {
    private var heap: [(start: Double, agent: AgentRecord)] = []

    /// The agent holds the item it holds now, since `itemStartTime`.
    static func isLive(_ entry: (start: Double, agent: AgentRecord)) -> Bool {
        entry.agent.holdsItem && entry.agent.itemStartTime == entry.start
    }

    var count: Int { heap.count }

    /// Records that `agent` began holding an item (or a new one). `holding` is the job's items in flight.
    mutating func add(_ agent: AgentRecord, holding: Int) {
        guard agent.holdsItem, let start = agent.itemStartTime else { return }
        heap.append((start, agent))
        siftUp(heap.count - 1)
        trim(holding: holding)
    }

    /// Drops stale entries from the top, and rebuilds the heap when stale ones are the majority.
    mutating func trim(holding: Int) {
        while let top = heap.first, !Self.isLive(top) { removeTop() }
        if heap.count > 2 * holding + 64 { rebuild(keeping: heap.filter(Self.isLive)) }
    }

    /// Rebuilds from the agents' current items (after agents were removed, or on restore).
    mutating func rebuild(from agents: [AgentRecord]) {
        rebuild(keeping: agents.compactMap { agent in agent.holdsItem ? agent.itemStartTime.map { ($0, agent) } : nil })
    }

    /// Every agent holding an item that started at or before `time`, each once, in no particular order.
    func agents(startedBy time: Double) -> [AgentRecord] {
        var found: [AgentRecord] = []
        var seen = Set<ObjectIdentifier>()
        var stack: [Int] = heap.isEmpty ? [] : [0]
        while let index = stack.popLast() {
            let entry = heap[index]
            guard entry.start <= time else { continue }   // a min-heap: its children started later still
            if Self.isLive(entry), seen.insert(ObjectIdentifier(entry.agent)).inserted { found.append(entry.agent) }
            if 2 * index + 1 < heap.count { stack.append(2 * index + 1) }
            if 2 * index + 2 < heap.count { stack.append(2 * index + 2) }
        }
        return found
    }

    private mutating func rebuild(keeping entries: [(start: Double, agent: AgentRecord)]) {
        heap = entries
        var index = heap.count / 2
        while index > 0 {
            index -= 1
            siftDown(index)
        }
    }

    private mutating func removeTop() {
        let last = heap.removeLast()
        guard !heap.isEmpty else { return }
        heap[0] = last
        siftDown(0)
    }

    private mutating func siftUp(_ start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].start < heap[parent].start else { return }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        while true {
            var smallest = parent
            let left = 2 * parent + 1, right = left + 1
            if left < heap.count, heap[left].start < heap[smallest].start { smallest = left }
            if right < heap.count, heap[right].start < heap[smallest].start { smallest = right }
            guard smallest != parent else { return }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
    }
}
