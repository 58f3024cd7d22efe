/// One sample of a job's history: its state at `time`, as `JobSummary` reported it then.
public struct JobHistoryPoint: Sendable, Equatable, Codable {
    /// Unix seconds (the store's clock).
    public var time: Double
    public var finished: UInt64
    /// Failed attempts so far.
    public var failed: UInt64
    /// Planned minus finished; nil while the planned total is unknown.
    public var remaining: Int64?
    /// Finished items per second over 5 minutes (the summary's `throughput`).
    public var throughput: Double
    public var etaSeconds: Double?
    public var etaLowerSeconds: Double?
    public var etaUpperSeconds: Double?

    public init(
        time: Double, finished: UInt64, failed: UInt64, remaining: Int64?, throughput: Double,
        etaSeconds: Double?, etaLowerSeconds: Double?, etaUpperSeconds: Double?
    ) {
        self.time = time
        self.finished = finished
        self.failed = failed
        self.remaining = remaining
        self.throughput = throughput
        self.etaSeconds = etaSeconds
        self.etaLowerSeconds = etaLowerSeconds
        self.etaUpperSeconds = etaUpperSeconds
    }

    enum CodingKeys: String, CodingKey {
        case finished, failed, remaining, throughput
        case time = "timestamp"
        case etaSeconds = "eta_seconds"
        case etaLowerSeconds = "eta_lower_bound_seconds"
        case etaUpperSeconds = "eta_upper_bound_seconds"
    }
}

/// A job's downsampled history, for charts: one point every `interval` seconds (10 s at first).
/// When `capacity` points are held (an hour at 10 s), neighbouring pairs merge into one and the
/// interval doubles, so a job of any length keeps at most `capacity` points spread over its whole
/// life. The first point (the job's start) is never merged away. A plain value: persistence can
/// store `points` and `interval` and rebuild it with `init(points:interval:)`.
public struct JobHistory: Sendable, Equatable {
    public static let baseInterval = 10.0
    public static let capacity = 360

    /// Oldest first, at least `interval` seconds apart (the first two may be closer after a merge).
    public private(set) var points: [JobHistoryPoint]
    /// Seconds between points now: `baseInterval` times a power of two.
    public private(set) var interval: Double

    public init() {
        points = []
        interval = Self.baseInterval
    }

    /// Rebuilds a history from stored points (kept in time order, at most `capacity`, merging if needed).
    public init(points: [JobHistoryPoint], interval: Double = JobHistory.baseInterval) {
        self.points = points.filter { $0.time.isFinite }.sorted { $0.time < $1.time }
        self.interval = interval.isFinite && interval >= Self.baseInterval ? interval : Self.baseInterval
        while self.points.count > Self.capacity { mergePairs() }
    }

    /// True when a point taken at `time` would be kept: the first one, or `interval` after the last.
    public func wants(at time: Double) -> Bool {
        guard time.isFinite else { return false }
        guard let last = points.last else { return true }
        return time >= last.time + interval
    }

    /// Adds `point` if `wants(at:)` its time; merges pairs when full.
    public mutating func record(_ point: JobHistoryPoint) {
        guard wants(at: point.time) else { return }
        points.append(point)
        if points.count > Self.capacity { mergePairs() }
    }

    /// Halves the points after the first: each pair becomes its later point (counts and ETC are
    /// states at that time) with the pair's mean throughput; the interval doubles.
    private mutating func mergePairs() {
        guard points.count > 2 else { return }
        var merged = [points[0]]
        merged.reserveCapacity(Self.capacity / 2 + 2)
        var index = 1
        while index < points.count {
            if index + 1 < points.count {
                var later = points[index + 1]
                later.throughput = (points[index].throughput + later.throughput) / 2
                merged.append(later)
            } else {
                merged.append(points[index])
            }
            index += 2
        }
        points = merged
        interval *= 2
    }
}

extension JobRecord {
    /// Called by the upkeep tick: records the job's current values when a point is due. An ended
    /// job gets one last point after its end, then its history stays as it is.
    func recordHistory(now: Double) {
        guard history.wants(at: now) else { return }
        if status.hasEnded, let end = endTime, let last = history.points.last, last.time >= end { return }
        let estimate = CompletionEstimate.of(self, now: now)
        history.record(JobHistoryPoint(
            time: now, finished: finished, failed: failed, remaining: remaining,
            throughput: throughput(window: 300, now: now),
            etaSeconds: estimate?.seconds, etaLowerSeconds: estimate?.lower, etaUpperSeconds: estimate?.upper))
    }
}

extension ProgressStore {
    /// The history of `job` (ended jobs too, until retention); nil for an unknown job.
    public func history(job id: String) -> JobHistory? {
        state.withLock { $0.jobs[id]?.history }
    }
}
