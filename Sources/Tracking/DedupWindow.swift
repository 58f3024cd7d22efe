import DequeModule

/// Event ids seen recently, so a re-sent event is applied once.
struct DedupWindow {
    fileprivate var seen: Set<String> = []
    fileprivate var order: Deque<(id: String, time: Double)> = []

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

extension DedupWindow {
    func encode(into w: inout BinaryWriter) {
        w.array(order) { w, entry in
            w.string(entry.id)
            w.double(entry.time)
        }
    }

    static func decode(from r: inout BinaryReader) throws(BinaryReadError) -> DedupWindow {
        var window = DedupWindow()
        let entries = try r.array(minimumSize: 12) { (r: inout BinaryReader) throws(BinaryReadError) in (id: try r.string(), time: try r.double()) }
        for entry in entries where window.seen.insert(entry.id).inserted { window.order.append(entry) }
        return window
    }
}
