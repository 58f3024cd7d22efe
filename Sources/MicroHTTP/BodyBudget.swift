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

    /// Hands free heap pages back to the kernel after large bodies have been released: glibc keeps
    /// freed body buffers in its arenas otherwise (after the first large free it raises its mmap
    /// threshold, so later bodies come from the heap). It trims once no body is held, or during a
    /// long burst once `trimAfter` bytes have been released and few are held. Called by the
    /// sweeper, never on a request's path.
    ///
    /// What it cannot return: the free top of a heap other than glibc's main one (below glibc's
    /// trim threshold, which follows the largest freed buffer, twice its size per arena).
    /// Measured 5 s after 100 concurrent uploads of 16 MiB (release build): 0-48 MB above the
    /// resting size (mean 14, 7 runs), against 0-33 MB (mean 22, 6 runs) without trimming, and
    /// 2-818 MB before the budget existed. A fixed M_MMAP_THRESHOLD of 1 MiB gave every byte back
    /// (3 runs) but made a 16 MB /metrics answer 10-45% slower (p50), so it is not set.
    func trimIfWorthwhile() {
        let due = state.withLock { state -> Bool in
            let released = state.releasedSinceTrim
            let idle = released > 0 && state.counts.held == 0
            let longBurst = released >= Self.trimAfter && state.counts.held <= released / 4
            guard idle || longBurst else { return false }
            state.releasedSinceTrim = 0
            return true
        }
        if due { _ = pe_malloc_trim() }
    }
}
