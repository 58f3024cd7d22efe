import CMicroHTTPD
#if canImport(Glibc)
import Glibc
#endif

/// A response body written by a producer while the server sends it, e.g. Server-Sent Events.
///
/// Each `write` goes out as one HTTP chunk. The stream ends when the producer calls
/// `close()`, when the client goes away, or when the server stops; `write` then returns
/// false and the `onClose` actions run (once), so a producer can unsubscribe.
public final class HTTPStream: Sendable {
    private struct State {
        var pending: [UInt8] = []
        var sent = 0
        var closed = false
        var connection: ConnectionHandle?
        /// The connection's socket while attached, to notice a client that left while nothing was sent.
        var descriptor: Int32 = -1
        var suspended = false
        var closeActions: [@Sendable () -> Void] = []
    }

    /// Past this many unsent bytes the client is too slow and the stream is closed.
    public let maxBufferedBytes: Int
    private let state = Locked(State())

    public init(maxBufferedBytes: Int = 1 << 20) {
        self.maxBufferedBytes = maxBufferedBytes
    }

    /// Queues bytes for the client; false when the stream is closed.
    @discardableResult
    public func write(_ bytes: [UInt8]) -> Bool {
        let (accepted, actions) = state.withLock { state -> (Bool, [@Sendable () -> Void]) in
            if state.closed { return (false, []) }
            if state.pending.count - state.sent + bytes.count > maxBufferedBytes {
                return (false, Self.markClosed(&state))
            }
            state.pending.append(contentsOf: bytes)
            Self.wake(&state)
            return (true, [])
        }
        actions.forEach { $0() }
        return accepted
    }

    /// Queues the UTF-8 bytes of `text`; false when the stream is closed.
    @discardableResult
    public func write(_ text: String) -> Bool {
        write(Array(text.utf8))
    }

    /// Ends the stream after what is already queued has been sent.
    public func close() {
        let actions = state.withLock { Self.markClosed(&$0) }
        actions.forEach { $0() }
    }

    /// Bytes written but not yet handed to the connection: how far the client is behind.
    public var queuedBytes: Int {
        state.withLock { $0.pending.count - $0.sent }
    }

    public var isClosed: Bool {
        state.withLock { $0.closed }
    }

    /// Runs `action` once when the stream closes, or now if it already has.
    public func onClose(_ action: @escaping @Sendable () -> Void) {
        let runNow = state.withLock { state -> Bool in
            if state.closed { return true }
            state.closeActions.append(action)
            return false
        }
        if runNow { action() }
    }

    // MARK: - Server side, called on MHD threads

    /// Binds the stream to the connection that sends it; false if it already sends elsewhere.
    func attach(to connection: ConnectionHandle) -> Bool {
        state.withLock { state in
            if state.connection != nil { return false }
            state.connection = connection
            state.descriptor = pe_mhd_connection_fd(connection.pointer)
            return true
        }
    }

    enum ReadResult: Equatable {
        case bytes(Int)
        /// Nothing queued: the connection is suspended until the next write or close.
        case waiting
        case end
    }

    /// Copies queued bytes into `buffer`, or suspends the connection when there are none.
    func read(into buffer: UnsafeMutableRawBufferPointer) -> ReadResult {
        state.withLock { state in
            let available = state.pending.count - state.sent
            if available > 0 {
                let count = min(available, buffer.count)
                state.pending.withUnsafeBytes { pending in
                    buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: pending[state.sent ..< state.sent + count]))
                }
                state.sent += count
                if state.sent == state.pending.count {
                    state.pending.removeAll(keepingCapacity: true)
                    state.sent = 0
                }
                return .bytes(count)
            }
            if state.closed { return .end }
            guard let connection = state.connection else { return .end }
            // Suspending under the lock pairs with `wake` resuming under it, so a write
            // can never resume a connection that is not suspended yet (MHD forbids that).
            MHD_suspend_connection(connection.pointer)
            state.suspended = true
            return .waiting
        }
    }

    /// The response is gone (sent, aborted or never queued): the stream is over.
    func detach() {
        close()
        state.withLock { state in
            state.connection = nil
            state.descriptor = -1
        }
    }

    /// Linux's POLLRDHUP (the peer shut its side down), which Glibc's module leaves out (it needs _GNU_SOURCE).
    private static let pollReadHangUp: Int16 = 0x2000

    /// Closes the streams whose client has gone (its socket hung up), with one poll(2) for all of them.
    /// A stream waiting for data has its connection suspended, and libmicrohttpd does not watch a
    /// suspended socket: without this a client that left is noticed only at the next write.
    /// Returns how many were closed.
    @discardableResult
    public static func closeThoseWhoseClientLeft(_ streams: [HTTPStream]) -> Int {
        var watched: [(stream: HTTPStream, entry: pollfd)] = []
        watched.reserveCapacity(streams.count)
        for stream in streams {
            let descriptor = stream.state.withLock { $0.closed ? -1 : $0.descriptor }
            guard descriptor >= 0 else { continue }
            watched.append((stream, pollfd(fd: descriptor, events: pollReadHangUp, revents: 0)))
        }
        guard !watched.isEmpty else { return 0 }
        var entries = watched.map(\.entry)
        guard poll(&entries, nfds_t(entries.count), 0) > 0 else { return 0 }
        var closed = 0
        for (index, entry) in entries.enumerated() where entry.revents != 0 {
            // Hung up or broken; or the end of its input with nothing unread before it. A client that only
            // shuts its sending side and keeps reading cannot be told from one that left; EventSource, curl
            // and `top` never do that, so the end of an SSE client's input is taken as its end.
            let broken = entry.revents & (Int16(POLLHUP) | Int16(POLLERR)) != 0
            var byte: UInt8 = 0
            let ended = entry.revents & pollReadHangUp != 0 && recv(entry.fd, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT)) == 0
            guard broken || ended else { continue }
            watched[index].stream.close()
            closed += 1
        }
        return closed
    }

    private static func wake(_ state: inout State) {
        guard state.suspended, let connection = state.connection else { return }
        state.suspended = false
        MHD_resume_connection(connection.pointer)
    }

    private static func markClosed(_ state: inout State) -> [@Sendable () -> Void] {
        if state.closed { return [] }
        state.closed = true
        wake(&state)
        defer { state.closeActions = [] }
        return state.closeActions
    }
}
