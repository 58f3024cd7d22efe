import Events

/// How the store's values are written to a snapshot and read back: the ingest counters, each job's
/// own values and each agent's. The capture (which values, under which holds of the lock) and the
/// restore (replacing the state at once) are the store's (`StoreSnapshot.swift`); this is only the
/// byte layout, checked field by field on the way in (hostile bytes get an error, never a crash).
enum SnapshotCodec {
    static func encode(_ stats: IngestStats, into w: inout BinaryWriter) {
        for map in [stats.received, stats.rejected, stats.ignored] {
            w.array(map.sorted { $0.key < $1.key }) { w, e in w.string(e.key); w.u64(e.value) }
        }
        w.array(stats.lastEventTime.sorted { $0.key < $1.key }) { w, e in w.string(e.key); w.double(e.value) }
        w.u64(stats.duplicates)
        w.u64(stats.untrackedAgentEvents)
        w.u64(stats.untrackedJobEvents)
    }

    static func decodeStats(from r: inout BinaryReader) throws(BinaryReadError) -> IngestStats {
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
    static func encode(_ job: JobValues, into w: inout BinaryWriter) {
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

    static func decodeJob(from r: inout BinaryReader, version: UInt32) throws(BinaryReadError) -> JobRecord {
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

    static func encode(_ agent: AgentValues, into w: inout BinaryWriter) {
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

    static func decodeAgent(from r: inout BinaryReader, of job: JobRecord) throws(BinaryReadError) -> AgentRecord {
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
