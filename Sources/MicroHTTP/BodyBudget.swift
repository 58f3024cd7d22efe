import CMicroHTTPD

/// The bytes of request bodies held in memory across all connections, against one limit.
///
/// A body's buffer is reserved here before it is allocated (its whole declared
/// `Content-Length` on the first call, or each growth of a chunked body), and released when
/// the handler is done with it or the request ends. A request that would take the total
/// over the limit is refused (503) instead of buffered.
final class BodyBudget: Sendable {
    struct Counts: Sendable, Equatable {
        /// Bytes reserved for bodies now.
        var held = 0
        /// Requests refused because their body did not fit.
        var refused = 0
        /// Times free heap memory was handed back after large bodies were released.
        var trims = 0
    }

    private struct State {
        var counts = Counts()
        /// Bytes of large buffers released since the last trim.
        var releasedSinceTrim = 0
    }

    /// 0 for no limit.
    let limit: Int
    private let state = Locked(State())

    /// Releases of at least this many bytes count toward a trim: smaller buffers are reused by malloc anyway.
    static let largeBuffer = 1 << 20
    /// Trim once this much has been released in large buffers.
    static let trimAfter = 32 << 20

    init(limit: Int) {
        self.limit = limit
    }

    var counts: Counts {
        state.withLock { $0.counts }
    }

    /// Takes `bytes` from the budget; false (and counted as refused) when they do not fit.
    func reserve(_ bytes: Int) -> Bool {
        state.withLock { state in
            if limit > 0 && state.counts.held + bytes > limit {
                state.counts.refused += 1
                return false
            }
            state.counts.held += bytes
            return true
        }
    }

    func release(_ bytes: Int) {
        guard bytes > 0 else { return }
        state.withLock { state in
            state.counts.held -= bytes
            if bytes >= Self.largeBuffer { state.releasedSinceTrim += bytes }
        }
    }

    /// Hands free heap pages back to the kernel once many large bodies have been released and
    /// few are held: glibc keeps freed body buffers in its arenas otherwise (after the first
    /// large free it raises its mmap threshold, so later bodies come from the heap). Called by
    /// the sweeper, never on a request's path. Returns whether it trimmed.
    @discardableResult
    func trimIfWorthwhile() -> Bool {
        let due = state.withLock { state -> Bool in
            guard state.releasedSinceTrim >= Self.trimAfter, state.counts.held <= state.releasedSinceTrim / 4 else { return false }
            state.releasedSinceTrim = 0
            state.counts.trims += 1
            return true
        }
        if due { _ = pe_malloc_trim() }
        return due
    }
}
