#if canImport(Glibc)
import Clocks
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
    private let live = Locked(Live())

    init(
        handler: @escaping @Sendable (HTTPRequest) -> HTTPResponse,
        maxBodyBytes: Int,
        connections: ConnectionGuard = ConnectionGuard(limits: .init(maxConnections: 0, maxConnectionsPerClient: 0, requestTimeoutSeconds: 0)),
        bodies: BodyBudget = BodyBudget(limit: 0),
        security: WebSecurity? = nil,
        clientAuth: TLSSettings.ClientAuth = .noClientCert,
        gate: HTTPServer.Gate? = nil,
        bodyRefused: @escaping @Sendable () -> Void = {}
    ) {
        self.gate = gate
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
}
