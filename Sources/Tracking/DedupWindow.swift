import DequeModule

/// Event ids seen recently, so a re-sent event is applied once.
struct DedupWindow {
    private var seen: Set<String> = []
    private var order: Deque<(id: String, time: Double)> = []

    /// Records `id` at `time`; false when it was already seen within the window.
    mutating func insert(_ id: String, at time: Double, window: Double, capacity: Int) -> Bool {
        while let oldest = order.first, oldest.time < time - window || order.count >= capacity {
            order.removeFirst()
            seen.remove(oldest.id)
        }
        guard seen.insert(id).inserted else { return false }
        order.append((id, time))
        return true
    }
}
