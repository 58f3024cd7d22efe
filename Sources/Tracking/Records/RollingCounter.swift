/// Event counts in fixed-width time buckets over a bounded span: a ring indexed by absolute bucket number,
/// so out-of-order events land in their own bucket and memory never grows with the event rate.
public struct RollingCounter: Sendable {
    public let bucketSeconds: Double
    /// How many buckets the ring holds once it holds any.
    private let bucketCount: Int
    /// Empty until the first event: most agents' attempt windows never see one, and a million agents
    /// register faster and in less memory without two arrays each they do not use.
    fileprivate var buckets: [UInt32] = []
    /// Absolute index (time / bucketSeconds) of the newest bucket held; nil before the first event.
    fileprivate var head: Int64?
    /// The sum of every bucket held: a window as long as the span (an agent's 5m rate, read for
    /// every kept agent at every scrape) subtracts the few buckets that fell out of it instead of
    /// adding up all of them.
    fileprivate var total: UInt64 = 0

    public init(bucketSeconds: Double, span: Double) {
        precondition(bucketSeconds > 0 && span >= bucketSeconds)
        self.bucketSeconds = bucketSeconds
        bucketCount = Int((span / bucketSeconds).rounded(.up))
    }

    public var spanSeconds: Double { Double(bucketCount) * bucketSeconds }

    /// The end of the newest bucket that counted an event: the newest event, within a bucket.
    public var newestBucketEnd: Double? { head.map { Double($0 + 1) * bucketSeconds } }

    /// Counts `count` events at time `t`; events older than the span are not held (returns false).
    @discardableResult
    public mutating func add(at t: Double, count: UInt32 = 1) -> Bool {
        let index = bucketIndex(t)
        let n = Int64(bucketCount)
        guard let current = head else {
            if buckets.isEmpty { buckets = Array(repeating: 0, count: bucketCount) }
            head = index
            buckets[slot(index)] = count
            total = UInt64(count)
            return true
        }
        if index > current {
            // Zero the buckets the ring skips over; at most one full turn.
            var i = current + 1
            let last = min(index, current + n)
            while i <= last {
                total -= UInt64(buckets[slot(i)])
                buckets[slot(i)] = 0
                i += 1
            }
            head = index
        } else if index <= current - n {
            return false
        }
        let before = buckets[slot(index)]
        let after = before &+ count
        buckets[slot(index)] = after
        total = total - UInt64(before) + UInt64(after)
        return true
    }

    /// The events in the `window` seconds that end at `now`, and the time the oldest counted bucket began.
    public func sum(window: Double, now: Double) -> (count: UInt64, windowStart: Double) {
        let nowIndex = bucketIndex(now)
        let k = max(1, Int64((window / bucketSeconds).rounded()))
        let low = nowIndex - k + 1
        let windowStart = Double(low) * bucketSeconds
        guard let current = head else { return (0, windowStart) }
        let n = Int64(bucketCount)
        let first = max(low, current - n + 1)
        let high = min(nowIndex, current)
        guard first <= high else { return (0, windowStart) }
        let oldestHeld = current - n + 1
        if high == current && first - oldestHeld < high - first + 1 {
            // Fewer buckets fell out of the window than are in it: the total less those.
            return (first > oldestHeld ? total - sum(from: oldestHeld, to: first - 1) : total, windowStart)
        }
        return (sum(from: first, to: high), windowStart)
    }

    /// The buckets of absolute indexes `first...last`, all held. One division for the first slot,
    /// then the ring is walked with a wrap.
    private func sum(from first: Int64, to last: Int64) -> UInt64 {
        var slot = slot(first)
        var sum: UInt64 = 0
        buckets.withUnsafeBufferPointer { ring in
            for _ in first...last {
                sum += UInt64(ring[slot])
                slot += 1
                if slot == ring.count { slot = 0 }
            }
        }
        return sum
    }

    private func bucketIndex(_ t: Double) -> Int64 { Int64((t / bucketSeconds).rounded(.down)) }

    /// One division, not two: this runs for every event.
    private func slot(_ index: Int64) -> Int {
        let n = Int64(bucketCount)
        let remainder = index % n
        return Int(remainder < 0 ? remainder + n : remainder)
    }
}

extension RollingCounter {
    /// Events per second over `window` ending at `now`. A window that began before `since` (the first
    /// event of the job or agent) is measured from `since`: a job 15 s old with 300 items runs at 20/s.
    /// The span is at least one second so a brand-new series does not report a burst as a huge rate.
    public func rate(window: Double, now: Double, since: Double) -> Double {
        let (count, windowStart) = sum(window: window, now: now)
        guard count > 0 else { return 0 }
        let span = max(1, now - max(windowStart, since))
        return Double(count) / span
    }
}

extension RollingCounter {
    /// Writes the ring and its head, for snapshots.
    func encode(into w: inout BinaryWriter) {
        w.numbers(buckets)
        w.optional(head) { $0.i64($1) }
    }

    /// Reads what `encode` wrote into a counter of the same shape; the bucket count must match.
    mutating func decode(from r: inout BinaryReader) throws(BinaryReadError) {
        let read: [UInt32] = try r.numbers()
        let readHead = try r.optional { (r: inout BinaryReader) throws(BinaryReadError) in try r.i64() }
        // A window that saw an event holds all its buckets; one that never did holds none (or, as
        // written before buckets were allocated lazily, all of them at zero).
        guard read.count == bucketCount || (read.isEmpty && readHead == nil) else {
            throw BinaryReadError("rolling window of \(read.count) buckets, expected \(bucketCount)")
        }
        buckets = readHead == nil ? [] : read
        head = readHead
        total = buckets.reduce(0) { $0 + UInt64($1) }
    }
}
