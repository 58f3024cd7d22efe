import Events

/// The change feed's bookkeeping: every applied batch gets the next sequence number, and each job
/// and agent remembers the number of the last batch that touched it. Live views read what changed
/// after a position with `jobChanges(after:limit:)` and `agentChanges(job:after:limit:)` (LiveFeed.swift).
extension ProgressStore {
    /// The sequence number of the newest applied batch (0 before any).
    public var sequence: UInt64 { state.withLock { $0.sequence } }

    /// Moves the sequence number up to at least `sequence` (after a journal replay, so new batches
    /// number after every journaled one).
    public func advanceSequence(to sequence: UInt64) {
        state.withLock { $0.sequence = max($0.sequence, sequence) }
    }

    /// Where each source stood after the newest batch, with that batch's sequence number.
    public func sourcePositions() -> (sequence: UInt64, positions: [SourcePosition]) {
        state.withLock { state in
            (state.sequence, state.positions.values.sorted { ($0.path, $0.offset) < ($1.path, $1.offset) })
        }
    }
}
