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
            SnapshotCodec.encode(header.stats, into: &w)
            header.dedup.encode(into: &w)
            w.u32(UInt32(jobs.count))
            var values: [AgentValues] = []
            values.reserveCapacity(chunkSize)
            for job in jobs {
                SnapshotCodec.encode(job, into: &w)
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
                    for agent in values { SnapshotCodec.encode(agent, into: &w) }
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
        restored.stats = try SnapshotCodec.decodeStats(from: &r)
        restored.dedup = try DedupWindow.decode(from: &r)
        let jobs = try r.array(minimumSize: 16) { (r: inout BinaryReader) throws(BinaryReadError) in try SnapshotCodec.decodeJob(from: &r, version: version) }
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
