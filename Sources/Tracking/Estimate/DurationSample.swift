import Foundation

/// The most recent item durations of a job (a ring of `capacity`), the empirical distribution the
/// ETC's end-of-job model reads. 8 KiB a job.
struct DurationSample {
    static let capacity = 1024
    fileprivate(set) var ring: [Double] = []
    fileprivate(set) var next = 0

    mutating func add(_ seconds: Double) {
        if ring.count < Self.capacity {
            ring.append(seconds)
        } else {
            ring[next] = seconds
            next = (next + 1) % Self.capacity
        }
    }

    var count: Int { ring.count }

    /// The `k` durations added last (fewer while fewer are held), in no particular order.
    func newest(_ k: Int) -> ArraySlice<Double> {
        guard ring.count == Self.capacity, k < ring.count else { return ring.suffix(k) }
        // Full ring: the newest end just before `next`.
        if k <= next { return ring[(next - k)..<next] }
        return ArraySlice(ring[0..<next] + ring[(ring.count - (k - next))...])
    }

    /// The durations in increasing order, with suffix sums for tail expectations.
    func sorted() -> SortedDurations { SortedDurations(ring.sorted()) }

    /// Oldest first.
    var chronological: [Double] {
        ring.count < Self.capacity ? ring : Array(ring[next...] + ring[..<next])
    }

    /// The durations since the item durations last changed, or nil when they did not. A change is
    /// the split of the record, oldest first, whose two sides' mean log durations differ most in
    /// standard errors (in logs, so one long item among short ones moves it little), taken when
    /// that is more than `threshold`, both sides hold `minimumSide` or more, and the newer side's
    /// mean duration (what the rate reads) is beyond three of its standard errors from the whole's.
    /// The newer side is searched again (binary segmentation): the last of several changes counts.
    func sinceChange(minimumSide: Int, threshold: Double = 4) -> [Double]? {
        guard minimumSide >= 1 else { return nil }
        var values = ArraySlice(chronological)
        var changed = false
        while let split = Self.changePoint(values, minimumSide: minimumSide, threshold: threshold) {
            values = values[split...]
            changed = true
        }
        return changed ? Array(values) : nil
    }

    /// The index in `values` where the newer side of the largest change begins; nil without one.
    private static func changePoint(_ values: ArraySlice<Double>, minimumSide: Int, threshold: Double) -> Int? {
        let n = values.count
        guard n >= 2 * minimumSide else { return nil }
        let logs = values.map { Foundation.log(Swift.max($0, 1e-3)) }
        let total = logs.reduce(0, +), mean = total / Double(n)
        let sd = (logs.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(n - 1)).squareRoot()
        guard sd > 0, sd.isFinite else { return nil }
        var left = logs[..<minimumSide].reduce(0, +)
        var best = (statistic: threshold, split: -1)
        for split in minimumSide...(n - minimumSide) {
            if split > minimumSide { left += logs[split - 1] }
            let l = Double(split), r = Double(n - split)
            let statistic = abs((total - left) / r - left / l) / (sd * (1 / l + 1 / r).squareRoot())
            if statistic > best.statistic { best = (statistic, split) }
        }
        guard best.split >= 0 else { return nil }
        let newer = values[(values.startIndex + best.split)...]
        let rawMean = values.reduce(0, +) / Double(n)
        let rawSD = (values.reduce(0) { $0 + ($1 - rawMean) * ($1 - rawMean) } / Double(n - 1)).squareRoot()
        let newerMean = newer.reduce(0, +) / Double(newer.count)
        guard abs(newerMean - rawMean) > 3 * rawSD / Double(newer.count).squareRoot() else { return nil }
        return newer.startIndex
    }
}

/// An increasing list of durations: survival and expected excess over a threshold in O(log n).
struct SortedDurations {
    let values: [Double]
    /// suffix[i] = values[i...].sum()
    private let suffix: [Double]

    init(_ values: [Double]) {
        self.values = values
        var sums = [Double](repeating: 0, count: values.count + 1)
        for i in stride(from: values.count - 1, through: 0, by: -1) { sums[i] = sums[i + 1] + values[i] }
        suffix = sums
        let m = values.isEmpty ? 0 : sums[0] / Double(values.count)
        variance = values.count > 1 ? values.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(values.count - 1) : 0
    }

    /// These durations and `more` (increasing), in one increasing list; itself when `more` is empty.
    func merging(_ more: [Double]) -> SortedDurations {
        guard !more.isEmpty else { return self }
        var merged: [Double] = []
        merged.reserveCapacity(values.count + more.count)
        var i = 0, j = 0
        while i < values.count || j < more.count {
            if j == more.count || (i < values.count && values[i] <= more[j]) {
                merged.append(values[i]); i += 1
            } else {
                merged.append(more[j]); j += 1
            }
        }
        return SortedDurations(merged)
    }

    var isEmpty: Bool { values.isEmpty }
    var count: Int { values.count }
    var mean: Double { values.isEmpty ? 0 : suffix[0] / Double(values.count) }
    var maximum: Double { values.last ?? 0 }

    /// The value below which a fraction `q` of the values lie (nearest rank); 0 when empty.
    func quantile(_ q: Double) -> Double {
        guard !values.isEmpty else { return 0 }
        return values[min(values.count - 1, max(0, Int((Double(values.count - 1) * q).rounded())))]
    }

    /// Sample variance; 0 for fewer than two values. Computed once: the ETC reads it at every call.
    let variance: Double

    /// Index of the first value greater than x.
    private func firstAbove(_ x: Double) -> Int {
        var low = 0, high = values.count
        while low < high {
            let mid = (low + high) / 2
            if values[mid] > x { high = mid } else { low = mid + 1 }
        }
        return low
    }

    /// P(D > x).
    func survival(_ x: Double) -> Double {
        guard !values.isEmpty else { return 0 }
        return Double(values.count - firstAbove(x)) / Double(values.count)
    }

    /// E[max(0, D − x)].
    func expectedExcess(_ x: Double) -> Double {
        guard !values.isEmpty else { return 0 }
        let k = firstAbove(x)
        return (suffix[k] - x * Double(values.count - k)) / Double(values.count)
    }
}

extension DurationSample {
    func encode(into w: inout BinaryWriter) {
        w.doubles(ring)
        w.int(next)
    }

    static func decode(from r: inout BinaryReader) throws(BinaryReadError) -> DurationSample {
        var sample = DurationSample()
        sample.ring = try r.doubles()
        sample.next = try r.int()
        guard sample.ring.count <= capacity, sample.next >= 0, sample.next < max(1, capacity) else {
            throw BinaryReadError("duration sample out of shape")
        }
        return sample
    }
}
