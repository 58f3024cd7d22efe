/// A job's optional work (SPEC: `work` on item events, `total_work` on `job_started` and
/// `job_items_added`): bytes, rows, tokens. When given, the ETC counts the work left rather than
/// the items, so one 4 GB file and a thousand 1 KB files are no longer the same.
struct WorkRecord {
    /// `total_work` of `job_started` (the last one wins, as `total_items` does).
    var startedTotal: Double?
    /// `total_work` of every `job_items_added`.
    var added: Double = 0
    /// Work of the finished items that said theirs.
    var finished: Double = 0
    /// The newest items with both a work and a duration: (work, seconds), a ring of `capacity`.
    fileprivate(set) var recent: [(work: Double, seconds: Double)] = []
    fileprivate var next = 0
    static let capacity = 256

    /// Planned work; nil while no `total_work` was given.
    var planned: Double? {
        if startedTotal == nil && added == 0 { return nil }
        return (startedTotal ?? 0) + added
    }

    var remaining: Double? { planned.map { max(0, $0 - finished) } }

    mutating func observe(work: Double, seconds: Double?) {
        finished += work
        guard let seconds, seconds.isFinite, seconds >= 0 else { return }
        if recent.count < Self.capacity {
            recent.append((work, seconds))
        } else {
            recent[next] = (work, seconds)
            next = (next + 1) % Self.capacity
        }
    }

    /// Work per item and per agent-second over the newest items; nil with fewer than 8 or no work.
    var perItem: (work: Double, perSecond: Double)? {
        guard recent.count >= 8 else { return nil }
        let work = recent.reduce(0) { $0 + $1.work }, seconds = recent.reduce(0) { $0 + $1.seconds }
        guard work > 0, seconds > 0 else { return nil }
        return (work / Double(recent.count), work / seconds)
    }
}

extension WorkRecord {
    func encode(into w: inout BinaryWriter) {
        w.optional(startedTotal) { $0.double($1) }
        w.double(added)
        w.double(finished)
        w.array(recent) { w, r in w.double(r.work); w.double(r.seconds) }
        w.int(next)
    }

    static func decode(from r: inout BinaryReader) throws(BinaryReadError) -> WorkRecord {
        var record = WorkRecord()
        record.startedTotal = try r.optional { (r: inout BinaryReader) throws(BinaryReadError) in try r.double() }
        record.added = try r.double()
        record.finished = try r.double()
        record.recent = try r.array(minimumSize: 16) { (r: inout BinaryReader) throws(BinaryReadError) in (try r.double(), try r.double()) }
        record.next = try r.int()
        let values = [record.startedTotal ?? 0, record.added, record.finished] + record.recent.flatMap { [$0.work, $0.seconds] }
        guard record.recent.count <= capacity, record.next >= 0, record.next < capacity,
              values.allSatisfy({ $0.isFinite && $0 >= 0 }) else {
            throw BinaryReadError("work record out of shape")
        }
        return record
    }
}
