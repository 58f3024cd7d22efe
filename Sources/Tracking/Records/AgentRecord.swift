import Events
import Exposition

/// Live state of one agent, owned by its job; mutated only under the store's lock.
/// A class, so the scrape and the evaluator pass agents around with one retain instead of copying
/// every array and string inside.
final class AgentRecord {
    let id: String
    /// `job_name="…",agent="…"`, rendered once.
    let labels: LabelSet
    /// Stable hash of (job, agent) that decides whether its series are sampled.
    let sampleHash: UInt64

    /// Sequence number of the last batch that changed the agent (the change feed).
    var changedAt: UInt64 = 0
    var state: AgentState
    /// Time of the event that set `state`; older events do not override a newer state.
    var stateTime: Double
    var currentItem: String?
    var itemStartTime: Double?
    var step: String?
    var stepsCompleted: Int64?
    var totalSteps: Int64?
    var progressRatio: Double?

    var completed: UInt64 = 0
    var failed: UInt64 = 0
    var deadLettered: UInt64 = 0
    var retries: UInt64 = 0
    var consecutiveFailures: UInt32 = 0
    /// The snapshot capture that has this agent's values (it copied them, or a batch preserved
    /// them for it before changing them); see `SnapshotCapture`. Sits in `consecutiveFailures`' padding.
    var captureMark: UInt32 = 0

    var firstSeen: Double
    var lastSeen: Double
    var lastProgress: Double?
    var finishedItems: RollingCounter
    /// Completed and failed attempts over the last 10 minutes, for the failure-ratio alert.
    var completedAttempts: RollingCounter
    var failedAttempts: RollingCounter
    /// The agent's values as a capture in progress needs them, kept by the first batch that changed
    /// the agent after the capture began and before the capture reached it; nil otherwise.
    var preserved: PreservedAgent?

    /// Agents report throughput over 5 minutes in 10 s buckets: 30 counters, a few hundred bytes per agent.
    static let throughputWindow: Double = 300
    static let throughputBucket: Double = 10
    /// Attempt windows: 20 buckets of 30 s; alert windows longer than this are cut to it.
    static let attemptSpan: Double = 600
    static let attemptBucket: Double = 30

    init(id: String, jobLabels: LabelSet, sampleHash: UInt64, state: AgentState, time: Double) {
        self.id = id
        self.labels = jobLabels.appending(ProgressLabel.agent, id)
        self.sampleHash = sampleHash
        self.state = state
        self.stateTime = time
        self.firstSeen = time
        self.lastSeen = time
        finishedItems = RollingCounter(bucketSeconds: Self.throughputBucket, span: Self.throughputWindow)
        completedAttempts = RollingCounter(bucketSeconds: Self.attemptBucket, span: Self.attemptSpan)
        failedAttempts = RollingCounter(bucketSeconds: Self.attemptBucket, span: Self.attemptSpan)
    }

    /// Sets the state unless a newer event already set another one (events arrive out of order).
    func setState(_ newState: AgentState, at time: Double) {
        guard time >= stateTime else { return }
        state = newState
        stateTime = time
    }

    func markSeen(at time: Double) {
        lastSeen = max(lastSeen, time)
        firstSeen = min(firstSeen, time)
    }

    func markProgress(at time: Double) {
        markSeen(at: time)
        lastProgress = max(lastProgress ?? time, time)
    }

    /// Working on an item whose end is still to come.
    var holdsItem: Bool { currentItem != nil && itemStartTime != nil && state.isBusy }

    /// Forgets the current item once it is finished.
    func clearItem() {
        currentItem = nil
        itemStartTime = nil
        step = nil
        stepsCompleted = nil
        totalSteps = nil
        progressRatio = nil
    }

    /// The current item's progress: an explicit ratio, else steps done over total steps.
    var itemProgress: Double? {
        if let progressRatio { return progressRatio }
        if let stepsCompleted, let totalSteps, totalSteps > 0 {
            return min(1, Double(stepsCompleted) / Double(totalSteps))
        }
        return nil
    }

    /// Seconds until the current item is done, extrapolating its progress so far linearly.
    func itemETA(now: Double) -> Double? {
        guard !state.isFinal, let ratio = itemProgress, ratio > 0, let start = itemStartTime else { return nil }
        if ratio >= 1 { return 0 }
        let elapsed = max(0, now - start)
        return elapsed * (1 - ratio) / ratio
    }

    func throughput(now: Double) -> Double {
        finishedItems.rate(window: Self.throughputWindow, now: now, since: firstSeen)
    }
}
