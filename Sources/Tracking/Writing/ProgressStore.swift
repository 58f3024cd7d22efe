import Clocks
import Events
import Exposition
import Synchronization

/// The live state of every job and agent. Ingestion applies whole batches under one lock, so a
/// scrape sees each batch entirely or not at all; readers never wait longer than one batch.
public final class ProgressStore: Sendable {
    let options: StoreOptions
    let clock: any TimeSource
    let state: StateLock<StoreState>
    /// One snapshot capture at a time (see `snapshot()`).
    let capturing = Mutex(())

    public init(options: StoreOptions = StoreOptions(), clock: any TimeSource = WallClock()) {
        self.options = options
        self.clock = clock
        state = StateLock(StoreState())
    }

    /// Applies decoded events from one source, with the counts of lines that source rejected or
    /// ignored and where the source stood after them; returns the batch's sequence number. The one
    /// place that changes jobs and agents: every source reaches it through the `Ingestor`, the
    /// store's one writer (so it is not public).
    ///
    /// `onceAs`: an idempotency key for the whole batch (a bus message's identity), kept in the
    /// de-duplication window with the state: a batch whose key was applied within the window is not
    /// applied again, and 0 is returned instead of a sequence number.
    @discardableResult
    func apply(
        _ events: [Event], source: String, rejected: [String: Int] = [:], ignored: [String: Int] = [:],
        position: SourcePosition? = nil, positions: [SourcePosition] = [], onceAs batchID: String? = nil, arrivedAt: Double? = nil
    ) -> UInt64 {
        // A batch read again from the journal keeps the time it first arrived: events without a
        // `ts` get that time, not the time of the restart.
        let now = arrivedAt ?? clock.now()
        // Batches applied back to back took the lock again before a woken reader ran: a scrape,
        // evaluation or capture of a million agents, which takes it a thousand times, waited
        // seconds. Taking turns costs a batch at most one reader's hold (a chunk, about a ms).
        state.letWaitersIn()
        return state.withLock { state in
            if let batchID, !state.dedup.insert(batchID, at: now, window: options.dedupWindow, capacity: options.maxDedupIds, byteCapacity: options.maxDedupBytes) { return 0 }
            state.sequence += 1
            if let position { state.positions[position.key] = position }
            for position in positions { state.positions[position.key] = position }
            for (reason, count) in rejected { state.stats.rejected[reason, default: 0] += UInt64(count) }
            for (kind, count) in ignored {
                // Kinds come from foreign input: past a bounded set they share one label value.
                let label = state.stats.ignored[kind] != nil || state.stats.ignored.count < IngestStats.maxIgnoredKinds ? kind : "other"
                state.stats.ignored[label, default: 0] += UInt64(count)
            }
            guard !events.isEmpty else { return state.sequence }
            state.stats.received[source, default: 0] += UInt64(events.count)
            var newest = state.stats.lastEventTime[source] ?? 0
            var applier = EventApplier(options: options, now: now, sequence: state.sequence, capture: state.activeCapture)
            // By index, not `for event in events`: the iterator hands out copies, and copying an
            // event (a dozen strings and optionals) cost a few percent of ingestion.
            for index in events.indices {
                if let time = applier.apply(events[index], to: &state) { newest = max(newest, time) }
            }
            state.stats.lastEventTime[source] = newest
            return state.sequence
        }
    }

    /// A job forgotten by the tick that first saw it: it had ended longer than `--jobs.retention`
    /// ago when its events arrived (an old log read late), so no scrape may ever have seen it.
    public struct ForgottenOnArrival: Sendable, Equatable {
        public let job: String
        /// When it ended; for a job that never ended, its newest event.
        public let endTime: Double
        /// It had not ended: its newest event was older than `--jobs.silent-retention`.
        public var silent = false

        public init(job: String, endTime: Double, silent: Bool = false) {
            self.job = job
            self.endTime = endTime
            self.silent = silent
        }
    }

    /// Periodic upkeep: expires ended jobs and silent agents. Returns the expired jobs that were
    /// already past their retention at the previous tick (so they arrived expired), for the caller
    /// to say so; a job expiring in the normal way crosses its retention between two ticks.
    @discardableResult
    func tick() -> [ForgottenOnArrival] {
        let now = clock.now()
        return state.withLock { state in
            var expiredJobs: [String] = []
            var thinnedJobs: [JobRecord] = []
            var forgottenOnArrival: [ForgottenOnArrival] = []
            let previousTick = state.lastTick
            state.lastTick = now
            for job in state.jobs.values {
                let ended = job.status.hasEnded && job.endTime.map { now - $0 > options.jobRetention } == true
                let silent = now - job.lastEventTime > options.silentJobRetention
                if ended || silent {
                    expiredJobs.append(job.id)
                    if ended, let end = job.endTime, previousTick.map({ $0 - end > options.jobRetention }) ?? true {
                        forgottenOnArrival.append(ForgottenOnArrival(job: job.id, endTime: end))
                    } else if !ended, previousTick.map({ $0 - job.lastEventTime > options.silentJobRetention }) ?? true {
                        forgottenOnArrival.append(ForgottenOnArrival(job: job.id, endTime: job.lastEventTime, silent: true))
                    }
                } else {
                    let expired = Self.expireAgents(of: job, now: now, retention: options.agentRetention)
                    if expired > 0 {
                        state.trackedAgents -= expired
                        thinnedJobs.append(job)
                    }
                    job.recordHistory(now: now)
                }
            }
            for id in expiredJobs {
                state.trackedAgents -= state.jobs[id]?.agents.count ?? 0
                state.jobs[id] = nil
            }
            // Losing agents changes a job (its agent counts, its series) as an event would: the
            // change feed and the scrape's cache of unchanged jobs must both see it.
            if !expiredJobs.isEmpty || !thinnedJobs.isEmpty { state.sequence += 1 }
            for job in thinnedJobs { job.changedAt = state.sequence }
            if !expiredJobs.isEmpty {
                state.jobOrder = nil
                state.removedJobs.append(contentsOf: expiredJobs.map { ($0, state.sequence) })
                if state.removedJobs.count > StoreState.removedJobsKept {
                    state.removedJobs.removeFirst(state.removedJobs.count - StoreState.removedJobsKept)
                }
            }
            return forgottenOnArrival.sorted { $0.job < $1.job }
        }
    }

    /// Removes agents silent for longer than `retention`, keeping the others in their order. The
    /// oldest `lastSeen` found by the last pass bounds every agent's from below (it only grows), so
    /// until that bound expires no pass is needed: a tick costs a comparison per job, not per agent.
    private static func expireAgents(of job: JobRecord, now: Double, retention: Double) -> Int {
        guard now - job.oldestSeenBound > retention else { return 0 }
        job.oldestSeenBound = job.agents.lazy.map(\.lastSeen).min() ?? now
        guard now - job.oldestSeenBound > retention else { return 0 }
        let before = job.agents.count
        for agent in job.agents where now - agent.lastSeen > retention {
            job.agentsByState[agent.state.ordinal] -= 1
            if agent.holdsItem { job.itemsInFlight -= 1 }
        }
        job.agents.removeAll { now - $0.lastSeen > retention }
        job.heldItems.rebuild(from: job.agents)
        job.agentIndex = Dictionary(uniqueKeysWithValues: job.agents.enumerated().map { ($1.id, $0) })
        job.candidates.invalidate()
        job.oldestSeenBound = job.agents.lazy.map(\.lastSeen).min() ?? now
        return before - job.agents.count
    }

    public var now: Double { clock.now() }
}

/// Everything the store's lock guards.
struct StoreState {
    var jobs: [String: JobRecord] = [:]
    /// Job ids in output order; nil when a job came or went since it was last sorted.
    var jobOrder: [String]?
    var trackedAgents = 0
    var stats = IngestStats()
    var dedup = DedupWindow()
    /// The newest applied batch's number; jobs and agents remember the batch that last changed them.
    var sequence: UInt64 = 0
    /// Where each followed file stood after the newest batch that came from it.
    var positions: [String: SourcePosition] = [:]
    /// Jobs forgotten by retention, with the sequence number of their removal, for the change feed.
    var removedJobs: [(id: String, sequence: UInt64)] = []
    static let removedJobsKept = 1_000
    /// When `tick` last ran; nil before the first.
    var lastTick: Double?
    /// The snapshot capture in progress, if any: batches keep the values of agents it has not
    /// reached yet before changing them (`AgentRecord.preserve`). `captures` numbers them.
    var activeCapture: UInt32?
    var captures: UInt32 = 0
    /// How many times a snapshot replaced the state: records made before a restore are not the
    /// ones after it, whatever their ids and numbers (`StoreExposition`'s cache checks it).
    var restores: UInt64 = 0

    mutating func orderedJobs() -> [JobRecord] {
        if jobOrder == nil { jobOrder = jobs.keys.sorted() }
        return jobOrder!.compactMap { jobs[$0] }
    }
}
