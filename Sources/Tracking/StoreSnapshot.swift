import Events

/// The store's state as bytes, for `--storage.path`: every job and agent with their counters,
/// rolling windows and item accounting, the ingest counters, the de-duplication ids, the sequence
/// number and the followed files' positions. Taken under the store's lock in one pass, so the
/// state and the positions belong to the same sequence number; restored all at once or not at all.
extension ProgressStore {
    /// The encoding's own version; `SnapshotFile` carries the file format's. Version 2 adds each
    /// job's failure log (`FailureLog`), last finish time, earlier estimates (`ForecastRecord`) and
    /// work (`WorkRecord`); version 1 still loads, without them.
    public static let snapshotEncodingVersion: UInt32 = 2

    /// Agents copied under one hold of the store's lock while capturing: a few hundred microseconds.
    static let captureChunk = 1_024

    /// Encodes the whole state as of one sequence number; returns that number and the bytes.
    ///
    /// The lock is held only for short steps, so ingestion goes on while a large state is captured:
    /// one step copies the store's small parts and every job's own values (their arrays are shared,
    /// not copied, until something changes them) with the list of its agents; further steps copy
    /// the agents' values a chunk at a time, and the encoding happens outside the lock. A batch
    /// applied in between that changes an agent the capture has not reached yet first keeps the
    /// agent's values for it (`AgentRecord.preserve`), so every agent is captured as it was at the
    /// capture's sequence number: the snapshot is the state after exactly that batch, as before.
    public func snapshot() -> (sequence: UInt64, bytes: [UInt8]) { snapshot(chunk: Self.captureChunk, betweenChunks: nil) }

    /// `snapshot()` with `chunk` agents copied per hold of the lock, calling `betweenChunks` (tests:
    /// ingestion and upkeep in between) outside the lock before each hold.
    func snapshot(chunk chunkSize: Int, betweenChunks: (() -> Void)?) -> (sequence: UInt64, bytes: [UInt8]) {
        capturing.withLock { _ in
            let (mark, header, jobs) = state.withLock { state in
                state.captures = state.captures == .max ? 1 : state.captures + 1
                state.activeCapture = state.captures
                let header = CapturedHeader(
                    sequence: state.sequence, positions: state.positions.values.sorted { $0.key < $1.key },
                    stats: state.stats, dedup: state.dedup, trackedAgents: state.trackedAgents)
                return (state.captures, header, state.jobs.keys.sorted().map { JobValues(state.jobs[$0]!) })
            }
            defer { state.withLock { state in if state.activeCapture == mark { state.activeCapture = nil } } }
            var w = BinaryWriter(reserving: 1 << 16 + header.trackedAgents * 240)
            w.u32(Self.snapshotEncodingVersion)
            w.u64(header.sequence)
            w.array(header.positions) { w, p in
                w.string(p.source); w.string(p.path); w.u64(p.device); w.u64(p.inode); w.i64(p.offset)
                w.int(p.fingerprintLength); w.u64(p.fingerprintHash); w.optional(p.eventID) { $0.string($1) }
            }
            Self.encode(header.stats, into: &w)
            header.dedup.encode(into: &w)
            w.u32(UInt32(jobs.count))
            var values: [AgentValues] = []
            values.reserveCapacity(chunkSize)
            for job in jobs {
                Self.encode(job, into: &w)
                w.u32(UInt32(job.agents.count))
                var start = 0
                while start < job.agents.count {
                    let chunk = job.agents[start..<min(start + chunkSize, job.agents.count)]
                    values.removeAll(keepingCapacity: true)
                    betweenChunks?()
                    state.letWaitersIn()
                    state.withLock { _ in
                        for agent in chunk { values.append(agent.captured(by: mark)) }
                    }
                    for agent in values { Self.encode(agent, into: &w) }
                    start += chunk.count
                }
            }
            return (header.sequence, w.bytes)
        }
    }

    /// Replaces the whole state with a snapshot's; on any error the store is left as it was.
    func restore(from bytes: [UInt8]) throws(BinaryReadError) {
        var r = BinaryReader(bytes)
        let version = try r.u32()
        guard (1...Self.snapshotEncodingVersion).contains(version) else {
            throw BinaryReadError("state encoding version \(version); this exporter reads \(Self.snapshotEncodingVersion)")
        }
        var restored = StoreState()
        restored.sequence = try r.u64()
        let positions = try r.array(minimumSize: 40) { (r: inout BinaryReader) throws(BinaryReadError) in
            SourcePosition(source: try r.string(), path: try r.string(), device: try r.u64(), inode: try r.u64(), offset: try r.i64(),
                           fingerprintLength: try r.int(), fingerprintHash: try r.u64(),
                           eventID: try r.optional { (r: inout BinaryReader) throws(BinaryReadError) in try r.string() })
        }
        for p in positions { restored.positions[p.key] = p }
        restored.stats = try Self.decodeStats(from: &r)
        restored.dedup = try DedupWindow.decode(from: &r)
        let jobs = try r.array(minimumSize: 16) { (r: inout BinaryReader) throws(BinaryReadError) in try Self.decodeJob(from: &r, version: version) }
        for job in jobs {
            guard restored.jobs[job.id] == nil else { throw BinaryReadError("job \(job.id) appears twice") }
            restored.jobs[job.id] = job
            restored.trackedAgents += job.agents.count
        }
        guard r.remaining == 0 else { throw BinaryReadError("\(r.remaining) bytes after the state") }
        state.withLock { state in
            restored.restores = state.restores + 1
            state = restored
        }
    }

    private static func encode(_ stats: IngestStats, into w: inout BinaryWriter) {
        for map in [stats.received, stats.rejected, stats.ignored] {
            w.array(map.sorted { $0.key < $1.key }) { w, e in w.string(e.key); w.u64(e.value) }
        }
        w.array(stats.lastEventTime.sorted { $0.key < $1.key }) { w, e in w.string(e.key); w.double(e.value) }
        w.u64(stats.duplicates)
        w.u64(stats.untrackedAgentEvents)
        w.u64(stats.untrackedJobEvents)
    }

    private static func decodeStats(from r: inout BinaryReader) throws(BinaryReadError) -> IngestStats {
        var stats = IngestStats()
        func counts(_ r: inout BinaryReader) throws(BinaryReadError) -> [String: UInt64] {
            let pairs = try r.array(minimumSize: 12) { (r: inout BinaryReader) throws(BinaryReadError) in (try r.string(), try r.u64()) }
            return Dictionary(pairs, uniquingKeysWith: { $1 })
        }
        stats.received = try counts(&r)
        stats.rejected = try counts(&r)
        stats.ignored = try counts(&r)
        let times = try r.array(minimumSize: 12) { (r: inout BinaryReader) throws(BinaryReadError) in (try r.string(), try r.time()) }
        stats.lastEventTime = Dictionary(times, uniquingKeysWith: { $1 })
        stats.duplicates = try r.u64()
        stats.untrackedAgentEvents = try r.u64()
        stats.untrackedJobEvents = try r.u64()
        return stats
    }

    /// The job's own values; its agents follow, written by the caller.
    private static func encode(_ job: JobValues, into w: inout BinaryWriter) {
        w.string(job.id)
        w.string(job.status.rawValue)
        w.double(job.statusTime)
        w.optional(job.error) { $0.string($1) }
        w.optional(job.startTime) { $0.double($1) }
        w.double(job.firstEventTime)
        w.double(job.lastEventTime)
        w.optional(job.endTime) { $0.double($1) }
        w.optional(job.deadline) { $0.double($1) }
        w.optional(job.totalItems) { $0.i64($1) }
        w.i64(job.addedItems)
        for v in [job.finished, job.completed, job.failed, job.deadLettered, job.retries] { w.u64(v) }
        w.numbers(job.finishedItemHashes.all)
        job.finishedWindow.encode(into: &w)
        job.completedWindow.encode(into: &w)
        job.failedWindow.encode(into: &w)
        w.numbers(job.durationCounts)
        w.double(job.durationSum)
        job.recentDurations.encode(into: &w)
        w.u64(job.changedAt)
        w.double(job.history.interval)
        w.array(job.history.points) { w, p in
            w.double(p.time); w.u64(p.finished); w.u64(p.failed); w.optional(p.remaining) { $0.i64($1) }
            w.double(p.throughput); w.optional(p.etaSeconds) { $0.double($1) }
            w.optional(p.etaLowerSeconds) { $0.double($1) }; w.optional(p.etaUpperSeconds) { $0.double($1) }
        }
        job.failureLog.encode(into: &w)
        w.optional(job.lastFinishTime) { $0.double($1) }
        job.forecasts.encode(into: &w)
        job.work.encode(into: &w)
    }

    private static func decodeJob(from r: inout BinaryReader, version: UInt32) throws(BinaryReadError) -> JobRecord {
        let id = try r.string()
        let statusText = try r.string()
        guard let status = JobStatus(rawValue: statusText) else { throw BinaryReadError("unknown job status \(statusText)") }
        let statusTime = try r.time()
        let job = JobRecord(id: id, time: statusTime)
        job.status = status
        job.statusTime = statusTime
        job.error = try r.optional { (r: inout BinaryReader) throws(BinaryReadError) in try r.string() }
        job.startTime = try r.optional { (r: inout BinaryReader) throws(BinaryReadError) in try r.time() }
        job.firstEventTime = try r.time()
        job.lastEventTime = try r.time()
        job.endTime = try r.optional { (r: inout BinaryReader) throws(BinaryReadError) in try r.time() }
        job.deadline = try r.optional { (r: inout BinaryReader) throws(BinaryReadError) in try r.time() }
        job.totalItems = try r.optional { (r: inout BinaryReader) throws(BinaryReadError) in try r.i64() }
        job.addedItems = try r.i64()
        // Counts from input are never negative (the decoders refuse them); a snapshot is input too.
        guard job.addedItems >= 0, (job.totalItems ?? 0) >= 0 else { throw BinaryReadError("negative planned items for job \(id)") }
        job.finished = try r.u64()
        job.completed = try r.u64()
        job.failed = try r.u64()
        job.deadLettered = try r.u64()
        job.retries = try r.u64()
        job.finishedItemHashes = ItemHashSet(try r.numbers(UInt64.self))
        try job.finishedWindow.decode(from: &r)
        try job.completedWindow.decode(from: &r)
        try job.failedWindow.decode(from: &r)
        let counts: [UInt64] = try r.numbers()
        guard counts.count == job.durationCounts.count else { throw BinaryReadError("histogram of \(counts.count) buckets, expected \(job.durationCounts.count)") }
        // /metrics writes the buckets cumulatively: counts whose sum overflows (no store observes
        // 2^64 durations) trapped at the first scrape. Found by fuzzing `restore(from:)`.
        var total: UInt64 = 0
        for count in counts {
            let (sum, overflow) = total.addingReportingOverflow(count)
            guard !overflow else { throw BinaryReadError("histogram of \(id) counts more than 2^64 durations") }
            total = sum
        }
        job.durationCounts = counts
        job.durationSum = try r.double()
        job.restoreDurations(try DurationSample.decode(from: &r))
        job.changedAt = try r.u64()
        let interval = try r.double()
        let points = try r.array(minimumSize: 36) { (r: inout BinaryReader) throws(BinaryReadError) -> JobHistoryPoint in
            JobHistoryPoint(
                time: try r.double(), finished: try r.u64(), failed: try r.u64(),
                remaining: try r.optional { (r: inout BinaryReader) throws(BinaryReadError) in try r.i64() },
                throughput: try r.double(),
                etaSeconds: try r.optional { (r: inout BinaryReader) throws(BinaryReadError) in try r.double() },
                etaLowerSeconds: try r.optional { (r: inout BinaryReader) throws(BinaryReadError) in try r.double() },
                etaUpperSeconds: try r.optional { (r: inout BinaryReader) throws(BinaryReadError) in try r.double() })
        }
        guard points.count <= JobHistory.capacity, interval.isFinite, interval > 0 else { throw BinaryReadError("job history out of shape") }
        job.history = JobHistory(points: points, interval: interval)
        if version >= 2 {
            job.failureLog = try FailureLog.decode(from: &r)
            job.lastFinishTime = try r.optional { (r: inout BinaryReader) throws(BinaryReadError) in try r.time() }
            job.forecasts = try ForecastRecord.decode(from: &r)
            job.work = try WorkRecord.decode(from: &r)
        }
        job.agents = try r.array(minimumSize: 32) { (r: inout BinaryReader) throws(BinaryReadError) in try decodeAgent(from: &r, of: job) }
        for (index, agent) in job.agents.enumerated() {
            guard job.agentIndex.updateValue(index, forKey: agent.id) == nil else { throw BinaryReadError("agent \(agent.id) of \(id) appears twice") }
            job.agentsByState[agent.state.ordinal] += 1
            if agent.holdsItem { job.itemsInFlight += 1 }
        }
        job.heldItems.rebuild(from: job.agents)
        return job
    }

    private static func encode(_ agent: AgentValues, into w: inout BinaryWriter) {
        w.string(agent.id)
        w.string(agent.state.rawValue)
        w.double(agent.stateTime)
        w.optional(agent.currentItem) { $0.string($1) }
        w.optional(agent.itemStartTime) { $0.double($1) }
        w.optional(agent.step) { $0.string($1) }
        w.optional(agent.stepsCompleted) { $0.i64($1) }
        w.optional(agent.totalSteps) { $0.i64($1) }
        w.optional(agent.progressRatio) { $0.double($1) }
        for v in [agent.completed, agent.failed, agent.deadLettered, agent.retries] { w.u64(v) }
        w.u32(agent.consecutiveFailures)
        w.double(agent.firstSeen)
        w.double(agent.lastSeen)
        w.optional(agent.lastProgress) { $0.double($1) }
        agent.finishedItems.encode(into: &w)
        agent.completedAttempts.encode(into: &w)
        agent.failedAttempts.encode(into: &w)
        w.u64(agent.changedAt)
    }

    private static func decodeAgent(from r: inout BinaryReader, of job: JobRecord) throws(BinaryReadError) -> AgentRecord {
        let id = try r.string()
        let stateText = try r.string()
        guard let state = AgentState(rawValue: stateText) else { throw BinaryReadError("unknown agent state \(stateText)") }
        let stateTime = try r.time()
        let agent = AgentRecord(id: id, jobLabels: job.labels, sampleHash: StableHash.of(job.id, id), state: state, time: stateTime)
        agent.currentItem = try r.optional { (r: inout BinaryReader) throws(BinaryReadError) in try r.string() }
        agent.itemStartTime = try r.optional { (r: inout BinaryReader) throws(BinaryReadError) in try r.time() }
        agent.step = try r.optional { (r: inout BinaryReader) throws(BinaryReadError) in try r.string() }
        agent.stepsCompleted = try r.optional { (r: inout BinaryReader) throws(BinaryReadError) in try r.i64() }
        agent.totalSteps = try r.optional { (r: inout BinaryReader) throws(BinaryReadError) in try r.i64() }
        agent.progressRatio = try r.optional { (r: inout BinaryReader) throws(BinaryReadError) in try r.time() }
        agent.completed = try r.u64()
        agent.failed = try r.u64()
        agent.deadLettered = try r.u64()
        agent.retries = try r.u64()
        agent.consecutiveFailures = try r.u32()
        agent.firstSeen = try r.time()
        agent.lastSeen = try r.time()
        agent.lastProgress = try r.optional { (r: inout BinaryReader) throws(BinaryReadError) in try r.time() }
        try agent.finishedItems.decode(from: &r)
        try agent.completedAttempts.decode(from: &r)
        try agent.failedAttempts.decode(from: &r)
        agent.changedAt = try r.u64()
        return agent
    }
}

extension BinaryReader {
    /// A time or a progress ratio: the store only ever holds finite ones, and the JSON API cannot
    /// encode NaN or infinity (every /api/v1/jobs answer would be a 500), so a snapshot with one is
    /// refused like any other damaged snapshot. Found by fuzzing `restore(from:)`.
    mutating func time() throws(BinaryReadError) -> Double {
        let value = try double()
        guard value.isFinite else { throw BinaryReadError("\(value) where a finite time or ratio belongs") }
        return value
    }
}

/// What a capture takes of the store besides its jobs, in its first hold of the lock.
struct CapturedHeader {
    let sequence: UInt64
    let positions: [SourcePosition]
    let stats: IngestStats
    let dedup: DedupWindow
    let trackedAgents: Int
}

/// A job's own values as a snapshot holds them, with its agents as they were: a copy whose arrays
/// and sets share their storage with the job's until the job changes them.
struct JobValues {
    let id: String
    let status: JobStatus
    let statusTime: Double
    let error: String?
    let startTime: Double?
    let firstEventTime: Double
    let lastEventTime: Double
    let endTime: Double?
    let deadline: Double?
    let totalItems: Int64?
    let addedItems: Int64
    let finished: UInt64, completed: UInt64, failed: UInt64, deadLettered: UInt64, retries: UInt64
    let finishedItemHashes: ItemHashSet
    let finishedWindow: RollingCounter, completedWindow: RollingCounter, failedWindow: RollingCounter
    let durationCounts: [UInt64]
    let durationSum: Double
    let recentDurations: DurationSample
    let changedAt: UInt64
    let history: JobHistory
    let failureLog: FailureLog
    let lastFinishTime: Double?
    let forecasts: ForecastRecord
    let work: WorkRecord
    /// The job's agents at the capture (their values are read later, see `AgentRecord.captured(by:)`).
    let agents: [AgentRecord]

    init(_ job: JobRecord) {
        id = job.id
        status = job.status
        statusTime = job.statusTime
        error = job.error
        startTime = job.startTime
        firstEventTime = job.firstEventTime
        lastEventTime = job.lastEventTime
        endTime = job.endTime
        deadline = job.deadline
        totalItems = job.totalItems
        addedItems = job.addedItems
        finished = job.finished
        completed = job.completed
        failed = job.failed
        deadLettered = job.deadLettered
        retries = job.retries
        finishedItemHashes = job.finishedItemHashes
        finishedWindow = job.finishedWindow
        completedWindow = job.completedWindow
        failedWindow = job.failedWindow
        durationCounts = job.durationCounts
        durationSum = job.durationSum
        recentDurations = job.recentDurations
        changedAt = job.changedAt
        history = job.history
        failureLog = job.failureLog
        lastFinishTime = job.lastFinishTime
        forecasts = job.forecasts
        work = job.work
        agents = job.agents
    }
}

/// An agent's values as a snapshot holds them.
struct AgentValues {
    let id: String
    let state: AgentState
    let stateTime: Double
    let currentItem: String?
    let itemStartTime: Double?
    let step: String?
    let stepsCompleted: Int64?
    let totalSteps: Int64?
    let progressRatio: Double?
    let completed: UInt64, failed: UInt64, deadLettered: UInt64, retries: UInt64
    let consecutiveFailures: UInt32
    let firstSeen: Double
    let lastSeen: Double
    let lastProgress: Double?
    let finishedItems: RollingCounter, completedAttempts: RollingCounter, failedAttempts: RollingCounter
    let changedAt: UInt64

    init(_ agent: AgentRecord) {
        id = agent.id
        state = agent.state
        stateTime = agent.stateTime
        currentItem = agent.currentItem
        itemStartTime = agent.itemStartTime
        step = agent.step
        stepsCompleted = agent.stepsCompleted
        totalSteps = agent.totalSteps
        progressRatio = agent.progressRatio
        completed = agent.completed
        failed = agent.failed
        deadLettered = agent.deadLettered
        retries = agent.retries
        consecutiveFailures = agent.consecutiveFailures
        firstSeen = agent.firstSeen
        lastSeen = agent.lastSeen
        lastProgress = agent.lastProgress
        finishedItems = agent.finishedItems
        completedAttempts = agent.completedAttempts
        failedAttempts = agent.failedAttempts
        changedAt = agent.changedAt
    }
}

/// An agent's values kept for a capture in progress (a class: one word in every agent while unused).
final class PreservedAgent {
    let values: AgentValues
    init(_ values: AgentValues) { self.values = values }
}

extension AgentRecord {
    /// Called under the store's lock before a batch changes the agent: while capture `capture` runs
    /// and has not taken this agent yet, keeps its values for it (once per capture).
    @inline(__always)
    func preserve(for capture: UInt32?) {
        guard let capture, captureMark != capture else { return }
        captureMark = capture
        preserved = PreservedAgent(AgentValues(self))
    }

    /// Called under the store's lock by capture `mark`: the values the agent had when the capture
    /// began, kept by a batch that changed it since, or else its current ones (nothing changed it).
    func captured(by mark: UInt32) -> AgentValues {
        if captureMark == mark, let kept = preserved {
            preserved = nil
            return kept.values
        }
        captureMark = mark
        return AgentValues(self)
    }
}
