import CMicroHTTPD
import Clocks
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What one running daemon's C callbacks share; MHD holds it as their `cls` pointer.
final class ServerContext: Sendable {
    private struct Live {
        var streams: [ObjectIdentifier: HTTPStream] = [:]
        var stopping = false
        var requestsInFlight = 0
        /// Connections suspended while a worker runs their handler.
        var handling: [ObjectIdentifier: PendingAnswer] = [:]
        /// Set at shutdown once the pending requests were answered: no more hand-offs. (Not `stopping`,
        /// which closes streams at the start of the grace, while handlers should still run on workers.)
        var handOffsClosed = false
    }

    let handler: @Sendable (HTTPRequest) -> HTTPResponse
    let maxBodyBytes: Int
    /// Called for each request refused with 413, for the server's count.
    let bodyRefused: @Sendable () -> Void
    /// Connection limits and the request deadline.
    let connections: ConnectionGuard
    /// Memory held by request bodies.
    let bodies: BodyBudget
    /// Basic auth and client certificates, checked before a request is read further.
    let security: WebSecurity?
    /// The client certificate mode of this context's daemon (fixed while it runs).
    let clientAuth: TLSSettings.ClientAuth
    /// The application's check of a request's method, path and `Authorization` header, run before
    /// its body is read or any of the body budget reserved: a refusal is answered at once.
    let gate: HTTPServer.Gate?
    /// Where handlers run; nil: on the poll thread that read the request (tests of the request reader).
    let workers: HandlerWorkers?
    private let live = Locked(Live())

    init(
        handler: @escaping @Sendable (HTTPRequest) -> HTTPResponse,
        maxBodyBytes: Int,
        connections: ConnectionGuard = ConnectionGuard(limits: .init(maxConnections: 0, maxConnectionsPerClient: 0, requestTimeoutSeconds: 0)),
        bodies: BodyBudget = BodyBudget(limit: 0),
        security: WebSecurity? = nil,
        clientAuth: TLSSettings.ClientAuth = .noClientCert,
        gate: HTTPServer.Gate? = nil,
        workers: HandlerWorkers? = nil,
        bodyRefused: @escaping @Sendable () -> Void = {}
    ) {
        self.gate = gate
        self.workers = workers
        self.handler = handler
        self.maxBodyBytes = maxBodyBytes
        self.connections = connections
        self.bodies = bodies
        self.security = security
        self.clientAuth = clientAuth
        self.bodyRefused = bodyRefused
    }

    /// Seconds on the monotonic clock.
    static func now() -> Double { MonotonicClock().now() }

    func requestStarted() {
        live.withLock { $0.requestsInFlight += 1 }
    }

    func requestFinished() {
        live.withLock { $0.requestsInFlight -= 1 }
    }

    var requestsInFlight: Int {
        live.withLock { $0.requestsInFlight }
    }

    /// Tracks a stream being sent so `stop` can end it; false once stopping.
    func register(_ stream: HTTPStream) -> Bool {
        live.withLock { live in
            if live.stopping { return false }
            live.streams[ObjectIdentifier(stream)] = stream
            return true
        }
    }

    func unregister(_ stream: HTTPStream) {
        _ = live.withLock { $0.streams.removeValue(forKey: ObjectIdentifier(stream)) }
    }

    /// Refuses new streams and closes the open ones, which resumes their suspended
    /// connections: MHD must not be stopped while any connection is suspended.
    func closeStreams() {
        let open = live.withLock { live in
            live.stopping = true
            return Array(live.streams.values)
        }
        open.forEach { $0.close() }
    }

    // MARK: - Handlers on the workers

    /// Runs `work` (the handler, or a password check) on a worker while the connection is suspended; its
    /// outcome is stored in `pending` and the connection resumed, and MHD then calls the access handler
    /// again to act on it. A request that shutdown already answered (503) is not worked on: `dropped`
    /// runs instead (to release what `work` would have). False when there is no worker to take it (at
    /// the end of shutdown): the caller does the work on the poll thread instead.
    func handOff(
        pending: PendingAnswer, work: @escaping @Sendable () -> PendingAnswer.Outcome,
        dropped: @escaping @Sendable () -> Void = {}
    ) -> Bool {
        guard let workers else { return false }
        // Suspended under the lock that resumes it, so shutdown can never resume a connection that is not
        // suspended yet (MHD forbids that).
        let admitted = live.withLock { live -> Bool in
            guard !live.handOffsClosed else { return false }
            live.handling[ObjectIdentifier(pending)] = pending
            MHD_suspend_connection(pending.connection.pointer)
            return true
        }
        guard admitted else { return false }
        let queued = workers.submit { [self] in
            // Answered 503 by shutdown while it waited in the queue: its client was told it was not done.
            guard isPending(pending) else { return dropped() }
            answer(pending, with: work())
        }
        if !queued {
            dropped()
            answer(pending, with: .respond(Self.stopping))
        }
        return true
    }

    private func isPending(_ pending: PendingAnswer) -> Bool {
        live.withLock { $0.handling[ObjectIdentifier(pending)] != nil }
    }

    /// Stores the answer and resumes the connection, unless shutdown already answered it.
    private func answer(_ pending: PendingAnswer, with outcome: PendingAnswer.Outcome) {
        live.withLock { live in
            // Resuming under the lock: `answerEveryPending` (shutdown) cannot run between the check and the
            // resume, so a connection is resumed once, and never after MHD stopped.
            guard live.handling.removeValue(forKey: ObjectIdentifier(pending)) != nil else { return }
            pending.set(outcome)
            MHD_resume_connection(pending.connection.pointer)
        }
    }

    /// Shutdown: requests whose handler is still running past the grace get 503 now, and their
    /// connections are resumed: MHD must not be stopped while any connection is suspended.
    func answerEveryPending() {
        live.withLock { live in
            live.stopping = true
            live.handOffsClosed = true
            for pending in live.handling.values {
                pending.set(.respond(Self.stopping))
                MHD_resume_connection(pending.connection.pointer)
            }
            live.handling = [:]
        }
    }

    static let stopping = HTTPResponse.text("the server is stopping\n", status: 503).adding(header: "Connection", "close")
}

/// The answer a worker computed for a suspended connection, taken by the access handler when MHD calls it
/// again after the resume.
final class PendingAnswer: Sendable {
    enum Outcome: Sendable {
        /// Send this answer.
        case respond(HTTPResponse)
        /// The password check passed: go on with the request.
        case proceed
    }

    let connection: ConnectionHandle
    private let outcome = Mutex<Outcome?>(nil)

    init(connection: ConnectionHandle) { self.connection = connection }

    func set(_ value: Outcome) { outcome.withLock { $0 = value } }
    func take() -> Outcome? { outcome.withLock { value in defer { value = nil }; return value } }
}
