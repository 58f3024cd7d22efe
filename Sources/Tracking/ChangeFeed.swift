/// What changed in the store after a sequence number: the change feed that live views read.
/// Every applied batch gets the next sequence number; each job and agent remembers the number of
/// the last batch that touched it. Asking costs one pass over the jobs (and over one job's agents
/// for `agentChanges`), and nothing at all while nobody asks.
public struct StoreChanges: Sendable, Equatable {
    /// The store's sequence number this answer is complete up to; ask again with it.
    public var sequence: UInt64
    /// Jobs changed after the sequence asked for, as of `sequence`.
    public var jobs: [JobSummary]
    /// Jobs forgotten (retention) after the sequence asked for.
    public var removedJobs: [String]
}

public struct AgentChanges: Sendable, Equatable {
    public var sequence: UInt64
    public var agents: [AgentSummary]
}

extension ProgressStore {
    /// The sequence number of the newest applied batch (0 before any).
    public var sequence: UInt64 { state.withLock { $0.sequence } }

    /// Moves the sequence number up to at least `sequence` (after a journal replay, so new batches
    /// number after every journaled one).
    public func advanceSequence(to sequence: UInt64) {
        state.withLock { $0.sequence = max($0.sequence, sequence) }
    }

    /// Jobs changed after `since`, with the sequence number to ask with next time.
    public func changes(since: UInt64) -> StoreChanges {
        let now = clock.now()
        return state.withLock { state in
            let jobs = state.orderedJobs().filter { $0.changedAt > since }.map { Self.summary(of: $0, now: now) }
            let removed = state.removedJobs.filter { $0.sequence > since }.map(\.id)
            return StoreChanges(sequence: state.sequence, jobs: jobs, removedJobs: removed)
        }
    }

    /// Agents of `job` changed after `since`; nil for an unknown job.
    public func agentChanges(job id: String, since: UInt64) -> AgentChanges? {
        let now = clock.now()
        return state.withLock { state -> AgentChanges? in
            guard let job = state.jobs[id] else { return nil }
            let agents = job.agents.filter { $0.changedAt > since }.map { Self.agentSummary(of: $0, now: now) }
            return AgentChanges(sequence: state.sequence, agents: agents)
        }
    }

    /// Where each source stood after the newest batch, with that batch's sequence number.
    public func sourcePositions() -> (sequence: UInt64, positions: [SourcePosition]) {
        state.withLock { state in
            (state.sequence, state.positions.values.sorted { ($0.path, $0.offset) < ($1.path, $1.offset) })
        }
    }
}
