import DequeModule

/// Event ids seen recently, so a re-sent event is applied once. Bounded by count and by bytes:
/// a million ids of 1 KB each held 1.15 GB for ten minutes when only the count was bounded.
struct DedupWindow {
    fileprivate var seen: Set<String> = []
    fileprivate var order: Deque<(id: String, time: Double)> = []
    /// What the remembered ids take: their bytes plus `overhead` each (set and queue entries).
    private(set) var bytes = 0

    /// Bytes an id costs beyond its own: its set slot, its queue entry and their String headers.
    static let overhead = 64

    var count: Int { order.count }

    /// Records `id` at `time`; false when it was already seen within the window. The oldest ids
    /// are forgotten first when the window, `capacity` ids or `byteCapacity` bytes would be passed.
    mutating func insert(_ id: String, at time: Double, window: Double, capacity: Int, byteCapacity: Int = .max) -> Bool {
        let cost = id.utf8.count + Self.overhead
        while let oldest = order.first, oldest.time < time - window || order.count >= capacity || bytes + cost > byteCapacity {
            order.removeFirst()
            seen.remove(oldest.id)
            bytes -= oldest.id.utf8.count + Self.overhead
        }
        guard seen.insert(id).inserted else { return false }
        order.append((id, time))
        bytes += cost
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
        for entry in entries where window.seen.insert(entry.id).inserted {
            window.order.append(entry)
            window.bytes += entry.id.utf8.count + overhead
        }
        return window
    }
}
