import Events
import Exposition

/// Live state of one job and its agents; mutated only under the store's lock.
final class JobRecord {
    let id: String
    /// `job_name="…"` (SPEC section 4: never `job`, which Prometheus sets to the scrape job), rendered once.
    let labels: LabelSet

    /// Sequence number of the last batch that changed the job (the change feed).
    var changedAt: UInt64 = 0
    var status: JobStatus = .running
    var statusTime: Double
    var error: String?
    var startTime: Double?
    var firstEventTime: Double
    var lastEventTime: Double
    var endTime: Double?
    var deadline: Double?

    var totalItems: Int64?
    var addedItems: Int64 = 0

    var finished: UInt64 = 0
    var completed: UInt64 = 0
    var failed: UInt64 = 0
    var deadLettered: UInt64 = 0
    var retries: UInt64 = 0
    /// The last failures, dead-lettered items and failure reasons (`FailureLog`).
    var failureLog = FailureLog()
    /// Event time of the newest finished item: the job's end once none remain. Not in snapshots
    /// (a restored job falls back to its finished-item window, to the second).
    var lastFinishTime: Double?
    /// Work (bytes, rows, tokens) when the tracker gives it.
    var work = WorkRecord()
    /// The job's own earlier estimates, which calibrate its band.
    var forecasts = ForecastRecord()
    /// Hashes of finished item ids, so an item finishes once (8 bytes an item instead of its id).
    var finishedItemHashes = ItemHashSet()

    var finishedWindow: RollingCounter
    var completedWindow: RollingCounter
    var failedWindow: RollingCounter

    var durationCounts: [UInt64]
    var durationSum: Double = 0
    /// Recent item durations, for the ETC's end-of-job model and agent_slow.
    /// Change it only through `observeDuration` or `restoreDurations`, which drop the sorted copy.
    private(set) var recentDurations = DurationSample()
    /// `recentDurations` sorted, kept until the next duration arrives: the ETC is read by every
    /// scrape, API call, history point and alert evaluation, and most of them see no new duration.
    private var sortedDurationsCache: SortedDurations?

    func restoreDurations(_ sample: DurationSample) {
        recentDurations = sample
        sortedDurationsCache = nil
        durationModelCache = nil
    }

    func sortedDurations() -> SortedDurations {
        if let cached = sortedDurationsCache { return cached }
        let sorted = recentDurations.sorted()
        sortedDurationsCache = sorted
        return sorted
    }

    /// The durations the ETC models items with: those since the durations last changed
    /// (`DurationSample.sinceChange`, sides of at least `minimumSide`), else the whole record.
    /// Kept, as the sorted copy is, until the next duration arrives.
    private var durationModelCache: (minimumSide: Int, model: SortedDurations)?

    func durationModel(minimumSide: Int) -> SortedDurations {
        if let cached = durationModelCache, cached.minimumSide == minimumSide { return cached.model }
        let model = recentDurations.sinceChange(minimumSide: minimumSide).map { SortedDurations($0.sorted()) } ?? sortedDurations()
        durationModelCache = (minimumSide, model)
        return model
    }

    /// Agents in the order they registered (stable output order); `agentIndex` finds them by id.
    var agents: [AgentRecord] = []
    var agentIndex: [String: Int] = [:]
    var agentsByState: [Int] = Array(repeating: 0, count: AgentState.allCases.count)
    /// Agents working on an item (`AgentRecord.holdsItem`), kept exact as events arrive.
    var itemsInFlight = 0
    /// The agents holding an item, by when it started (`HeldItems`): the ETC reads the old ones.
    var heldItems = HeldItems()
    /// The agents with the smallest sample hashes, for scrapes (see `AgentSampler`).
    var candidates = SampleCandidates()
    /// No agent's `lastSeen` is older than this (agent expiry skips jobs until it is).
    var oldestSeenBound = -Double.infinity
    /// Downsampled history for the live page's charts, recorded by the upkeep tick.
    var history = JobHistory()
    /// The agents the last scrape forced into the sample for its kept agents (`AgentSampler`).
    var forcedSelection: ForcedSelection?

    static let windows: [(label: String, seconds: Double)] = [("1m", 60), ("5m", 300), ("15m", 900)]
    static let durationBounds = HistogramBounds([0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600])

    init(id: String, time: Double) {
        self.id = id
        labels = LabelSet([(ProgressLabel.job, id)])
        statusTime = time
        firstEventTime = time
        lastEventTime = time
        finishedWindow = RollingCounter(bucketSeconds: 1, span: 900)
        completedWindow = RollingCounter(bucketSeconds: 1, span: 900)
        failedWindow = RollingCounter(bucketSeconds: 1, span: 900)
        durationCounts = Array(repeating: 0, count: Self.durationBounds.values.count + 1)
    }

    /// Planned items: the announced total plus items added later; nil while neither is known.
    /// Both come from input, so the sum saturates at `Int64.max` instead of trapping.
    var planned: Int64? {
        if totalItems == nil && addedItems == 0 { return nil }
        return Self.saturatingSum(totalItems ?? 0, addedItems)
    }

    /// Counts `count` more planned items (`job_items_added`), saturating at `Int64.max`.
    func addItems(_ count: Int64) {
        addedItems = Self.saturatingSum(addedItems, count)
    }

    /// Sum of two non-negative counts from input, held at `Int64.max` rather than overflowing.
    static func saturatingSum(_ a: Int64, _ b: Int64) -> Int64 {
        let (sum, overflow) = a.addingReportingOverflow(b)
        return overflow ? (b > 0 ? .max : .min) : sum
    }

    var remaining: Int64? {
        guard let planned else { return nil }
        let (left, overflow) = planned.subtractingReportingOverflow(Int64(clamping: finished))
        return overflow ? 0 : max(0, left)
    }

    /// Every planned item is finished: the total is known and nothing remains. Many trackers never
    /// send `job_completed`; such a job is still `running`, but its idle agents have nothing to do.
    var allItemsFinished: Bool { remaining == 0 }

    var progressRatio: Double? {
        guard let planned, planned > 0 else { return nil }
        return min(1, Double(finished) / Double(planned))
    }

    /// The reference point of rates: the job's start, or its first event if that came earlier.
    var since: Double { min(startTime ?? firstEventTime, firstEventTime) }

    func throughput(window: Double, now: Double) -> Double {
        finishedWindow.rate(window: window, now: now, since: since)
    }

    /// Completed over completed plus failed attempts in the window; nil when the window saw neither.
    func successRatio(window: Double, now: Double) -> Double? {
        let ok = completedWindow.sum(window: window, now: now).count
        let bad = failedWindow.sum(window: window, now: now).count
        guard ok + bad > 0 else { return nil }
        return Double(ok) / Double(ok + bad)
    }

    func agentCount(_ state: AgentState) -> Int { agentsByState[state.ordinal] }

    func observeDuration(_ seconds: Double) {
        guard seconds.isFinite, seconds >= 0 else { return }
        durationCounts[Self.durationBounds.bucketIndex(for: seconds)] += 1
        durationSum += seconds
        recentDurations.add(seconds)
        sortedDurationsCache = nil
        durationModelCache = nil
    }

    var cumulativeDurationCounts: [UInt64] {
        var running: UInt64 = 0
        return durationCounts.map { running += $0; return running }
    }
}

extension AgentState {
    /// Position in `allCases`, used to index per-state arrays.
    var ordinal: Int {
        switch self {
        case .queued: return 0
        case .initializing: return 1
        case .running: return 2
        case .merging: return 3
        case .completed: return 4
        case .failed: return 5
        case .retrying: return 6
        case .deadLettered: return 7
        }
    }
}
