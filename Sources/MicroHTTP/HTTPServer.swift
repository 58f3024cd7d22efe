import CMicroHTTPD
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An HTTP/1.1 server over libmicrohttpd that calls one handler for each request.
///
/// libmicrohttpd's `threadPoolSize` poll threads read requests and send answers; the handler runs on
/// `handlerThreads` worker threads while the connection is suspended, so a slow handler (a large render,
/// an fsync) stalls only its own request, never the other connections of a poll thread.
public final class HTTPServer: Sendable {
    private struct Running: Sendable {
        let daemon: DaemonHandle
        let listenDescriptor: Int32
        let context: ServerContext
        let port: Int
        let sweeper: Sweeper
        /// nil with `handlerThreads` 0: handlers run on the poll threads.
        let workers: HandlerWorkers?
        /// C copies of the TLS strings given to MHD, freed after it stops (it keeps the pointers).
        let tlsStrings: TLSStrings?
    }

    /// strdup'd copies of the PEM texts and priorities, as addresses so `Running` stays Sendable.
    struct TLSStrings: Sendable {
        let addresses: [UInt]

        init(_ tls: TLSSettings) {
            let texts: [[UInt8]?] = [tls.certificatePEM, tls.keyPEM, tls.trustForDaemon, Array(tls.minVersion.priorities.utf8)]
            addresses = texts.map { text in
                guard let text else { return 0 }
                let copy = UnsafeMutablePointer<CChar>.allocate(capacity: text.count + 1)
                for (index, byte) in text.enumerated() { copy[index] = CChar(bitPattern: byte) }
                copy[text.count] = 0
                return UInt(bitPattern: copy)
            }
        }

        func pointer(_ index: Int) -> UnsafePointer<CChar>? {
            UnsafePointer(bitPattern: addresses[index])
        }

        /// Zeroes (the key among them) and frees the copies.
        func free() {
            for address in addresses {
                guard let pointer = UnsafeMutablePointer<CChar>(bitPattern: address) else { continue }
                let length = strlen(pointer)
                memset(pointer, 0, length)
                pointer.deallocate()
            }
        }
    }

    /// What the server's limits have done since it was made, for self-metrics.
    public struct LimitCounts: Sendable, Equatable {
        /// Connections open now.
        public var openConnections = 0
        /// Connections closed on arrival because `maxConnections` were open.
        public var refusedForMaxConnections = 0
        /// Connections closed to make room for a new client when `maxConnections` were open.
        public var evictedForMaxConnections = 0
        /// Connections closed on arrival because `maxConnectionsPerIP` were open from their address.
        public var refusedForMaxConnectionsPerIP = 0
        /// Connections closed because a request they had begun was not in within `requestTimeoutSeconds`.
        public var requestTimeouts = 0
        /// Requests answered 503 because their body did not fit in `maxBodyBufferBytes`.
        public var bodiesRefusedForBuffer = 0
        /// Bytes reserved for request bodies now.
        public var bodyBytesBuffered = 0

        public init() {}
    }

    public let options: HTTPServerOptions
    /// Basic auth, TLS and client certificates from a web config; nil for none.
    public let security: WebSecurity?
    private let handler: @Sendable (HTTPRequest) -> HTTPResponse
    private let gate: Gate?

    /// A check of a request's method, raw path and `Authorization` header made as soon as its headers
    /// are in: a response refuses it before its body is read or reserved (a bearer token, say).
    public typealias Gate = @Sendable (_ method: String, _ rawPath: String, _ authorization: String?) -> HTTPResponse?
    private let running = Locked<Running?>(nil)
    private let refusedBodies = Locked(0)
    private let connectionGuard: ConnectionGuard
    private let bodyBudget: BodyBudget
    // Serializes start and stop without holding `running`, which handlers may read.
    private let lifecycle = Locked(())

    public init(
        options: HTTPServerOptions = HTTPServerOptions(), security: WebSecurity? = nil, gate: Gate? = nil,
        handler: @escaping @Sendable (HTTPRequest) -> HTTPResponse
    ) {
        self.gate = gate
        self.options = options
        self.security = security
        self.handler = handler
        connectionGuard = ConnectionGuard(limits: .init(
            maxConnections: options.maxConnections, maxConnectionsPerClient: options.maxConnectionsPerIP,
            requestTimeoutSeconds: options.requestTimeoutSeconds))
        bodyBudget = BodyBudget(limit: options.maxBodyBufferBytes)
    }

    public convenience init(options: HTTPServerOptions = HTTPServerOptions(), security: WebSecurity? = nil, router: Router) {
        self.init(options: options, security: security, handler: router.handle)
    }

    deinit {
        stop()
    }

    /// Requests refused with 413 because their body was over `maxBodyBytes`, since the server was made.
    public var oversizedBodies: Int { refusedBodies.withLock { $0 } }

    public var limitCounts: LimitCounts {
        let connections = connectionGuard.counts
        let bodies = bodyBudget.counts
        var counts = LimitCounts()
        counts.openConnections = connections.open
        counts.refusedForMaxConnections = connections.refusedTotal
        counts.evictedForMaxConnections = connections.evicted
        counts.refusedForMaxConnectionsPerIP = connections.refusedPerClient
        counts.requestTimeouts = connections.timedOut
        counts.bodiesRefusedForBuffer = bodies.refused
        counts.bodyBytesBuffered = bodies.held
        return counts
    }

    /// The port the server listens on while running (the real one when asked for port 0), else 0.
    public var boundPort: Int {
        running.withLock { $0?.port ?? 0 }
    }

    public var isRunning: Bool {
        running.withLock { $0 != nil }
    }

    /// Binds the listen address and starts the worker threads; returns once requests are accepted.
    public func start() throws(HTTPServerError) {
        try lifecycle.withLock { (_: inout Void) throws(HTTPServerError) in
            guard !isRunning else { throw .alreadyRunning }
            let address = try options.validated()
            let socket = try ListenSocket.open(address)
            let tls = security?.tls
            let workers = options.handlerThreads > 0 ? HandlerWorkers(count: options.handlerThreads) : nil
            let context = makeContext(tls, workers: workers)
            let tlsStrings = tls.map(TLSStrings.init)
            guard let daemon = Self.startDaemon(options, socket.descriptor, context, tlsStrings) else {
                workers?.stop()
                let reason = tlsStrings != nil
                    ? "libmicrohttpd could not start TLS with this certificate, key and client CA file (its message is on standard error)"
                    : ListenSocket.message(for: errno)
                tlsStrings?.free()
                close(socket.descriptor)
                throw .daemon(address.description, reason: reason)
            }
            // A quarter of the deadline at most late, and often enough to hand memory back soon after a burst.
            let interval = options.requestTimeoutSeconds > 0 ? min(0.25, options.requestTimeoutSeconds / 4) : 0.25
            let sweeper = Sweeper(interval: interval) { [connectionGuard, bodyBudget] in
                connectionGuard.sweep(now: ServerContext.now())
                bodyBudget.trimIfWorthwhile()
            }
            sweeper.start()
            running.withLock {
                $0 = Running(
                    daemon: daemon, listenDescriptor: socket.descriptor, context: context, port: socket.port, sweeper: sweeper,
                    workers: workers, tlsStrings: tlsStrings)
            }
        }
    }

    private func makeContext(_ tls: TLSSettings?, workers: HandlerWorkers?) -> ServerContext {
        ServerContext(
            handler: handler, maxBodyBytes: options.maxBodyBytes, connections: connectionGuard, bodies: bodyBudget,
            security: security, clientAuth: tls?.clientAuth ?? .noClientCert, gate: gate, workers: workers
        ) { [refusedBodies] in
            refusedBodies.withLock { $0 += 1 }
        }
    }

    /// Stops accepting, ends open streams, lets requests in flight finish (up to
    /// `shutdownTimeoutSeconds`), answers those still being handled 503, closes every connection, then
    /// waits up to `shutdownTimeoutSeconds` more for handlers still running. Safe to call more than once.
    public func stop() {
        lifecycle.withLock { _ in
            guard let current = running.withLock({ $0 }) else { return }
            current.sweeper.stop()
            let quiesced = MHD_quiesce_daemon(current.daemon.pointer)
            retire(current, quiesced: quiesced)
            current.workers?.stop(waitingUpTo: options.shutdownTimeoutSeconds)
            running.withLock { $0 = nil }
        }
    }

    /// Ends the streams of a daemon that no longer accepts, lets its requests in flight finish (up
    /// to `shutdownTimeoutSeconds`), then stops it, closing its connections.
    private func retire(_ old: Running, quiesced: Int32) {
        old.context.closeStreams()
        let deadline = ServerContext.now() + options.shutdownTimeoutSeconds
        while old.context.requestsInFlight > 0 && ServerContext.now() < deadline {
            usleep(5_000)
        }
        // Handlers still running past the grace: their requests get 503 and their connections resume; a
        // moment (a second at most) lets the poll threads send those answers before the daemon closes all.
        old.context.answerEveryPending()
        let answered = ServerContext.now() + 1
        while old.context.requestsInFlight > 0 && ServerContext.now() < answered {
            usleep(5_000)
        }
        MHD_stop_daemon(old.daemon.pointer)
        // After a quiesce the socket is ours to close; without one MHD closed it.
        if quiesced >= 0 { close(quiesced) }
        old.tlsStrings?.free()
    }

    /// Puts new TLS settings in place (nil: plain HTTP) while running, as a reload of the web config
    /// needs: libmicrohttpd takes its certificate, key and CAs once, when a daemon starts. A new
    /// daemon starts on the same listening socket, then the running one stops accepting (no
    /// connection is refused meanwhile); the old one's requests in flight finish (up to `shutdownTimeoutSeconds`), then its connections, streams among them, are
    /// closed and their clients reconnect. If the new daemon cannot start, the old one goes on
    /// accepting and the error is thrown.
    public func restart(tls: TLSSettings?) throws(HTTPServerError) {
        try lifecycle.withLock { (_: inout Void) throws(HTTPServerError) in
            guard let current = running.withLock({ $0 }) else {
                security?.adopt(tls)
                return
            }
            // The new daemon gets its own descriptor of the socket: MHD closes the old one's.
            let descriptor = dup(current.listenDescriptor)
            guard descriptor >= 0 else { throw .daemon(options.listenAddress, reason: ListenSocket.message(for: errno)) }
            let context = makeContext(tls, workers: current.workers)
            let tlsStrings = tls.map(TLSStrings.init)
            guard let daemon = Self.startDaemon(options, descriptor, context, tlsStrings) else {
                tlsStrings?.free()
                close(descriptor)
                throw .daemon(options.listenAddress, reason: "libmicrohttpd could not start with the new TLS settings; the old ones stay")
            }
            // From here the new daemon accepts too; the old one stops accepting.
            let quiesced = MHD_quiesce_daemon(current.daemon.pointer)
            security?.adopt(tls)
            running.withLock {
                $0 = Running(
                    daemon: daemon, listenDescriptor: descriptor, context: context, port: current.port, sweeper: current.sweeper,
                    workers: current.workers, tlsStrings: tlsStrings)
            }
            retire(current, quiesced: quiesced)
        }
    }

    private static func startDaemon(_ options: HTTPServerOptions, _ descriptor: Int32, _ context: ServerContext, _ tls: TLSStrings?) -> DaemonHandle? {
        // A client that hangs up mid-response must cost an EPIPE, not the process.
        signal(SIGPIPE, SIG_IGN)
        // MHD's threads inherit this thread's signal mask: keep termination signals for
        // the thread that waits for them, whoever calls start.
        var blocked = sigset_t()
        var previous = sigset_t()
        sigemptyset(&blocked)
        for signal in [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2] { sigaddset(&blocked, signal) }
        pthread_sigmask(SIG_BLOCK, &blocked, &previous)
        defer { pthread_sigmask(SIG_SETMASK, &previous, nil) }

        // With TLS, poll(2) instead of epoll: libmicrohttpd 0.9.75 under epoll keeps a connection whose TLS
        // handshake stalls half-way (5 bytes of a ClientHello, then nothing) in its ready list and spins a
        // core on it until the connection times out. poll waits for the socket instead.
        let loop = tls == nil ? MHD_USE_EPOLL.rawValue : MHD_USE_POLL.rawValue
        let flags = MHD_USE_INTERNAL_POLLING_THREAD.rawValue | loop | MHD_ALLOW_SUSPEND_RESUME.rawValue
        // The context outlives the daemon: `Running` holds it until after MHD_stop_daemon.
        let cls = Unmanaged.passUnretained(context).toOpaque()
        // The limits are enforced by `ConnectionGuard.admit`, which counts its refusals. MHD's own
        // limit is split evenly between the worker threads and, when one worker's share is full,
        // leaves connections waiting in the backlog instead of refusing them; set it out of the way
        // (each worker's share at least the whole limit).
        let (product, overflow) = (options.maxConnections + 1).multipliedReportingOverflow(by: options.threadPoolSize)
        let mhdLimit = overflow ? UInt32.max : UInt32(clamping: product)
        guard let daemon = pe_mhd_start_daemon(
            flags, descriptor, UInt32(options.threadPoolSize), UInt32(clamping: options.connectionTimeoutSeconds),
            mhdLimit, Trampolines.acceptPolicy, cls,
            Trampolines.access, cls, Trampolines.completed, cls, Trampolines.notifyConnection, cls,
            tls?.pointer(0), tls?.pointer(1), tls?.pointer(2), tls?.pointer(3))
        else { return nil }
        return DaemonHandle(pointer: daemon)
    }
}
