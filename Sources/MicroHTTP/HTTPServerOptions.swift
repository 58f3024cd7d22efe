/// Settings of an `HTTPServer`.
public struct HTTPServerOptions: Sendable, Equatable {
    /// `host:port` as `ListenAddress` parses it; port 0 picks a free port (see `boundPort`).
    public var listenAddress: String
    /// MHD worker threads, each running its own epoll loop.
    public var threadPoolSize: Int
    /// Threads that run the handler while the request's connection is suspended (renders, journal
    /// fsyncs): how many requests are handled at once. 0 runs handlers on the poll threads.
    public var handlerThreads = 8
    /// An idle connection is closed after this many seconds; 0 never closes it.
    public var connectionTimeoutSeconds: Int
    /// A larger request body is refused with 413.
    public var maxBodyBytes: Int
    /// How long `stop` waits for requests in flight before closing their connections.
    public var shutdownTimeoutSeconds: Double
    /// Open connections in all; further ones are closed at once. At least 1.
    public var maxConnections: Int
    /// Open connections from one client IP address; further ones are closed at once. 0 for no limit.
    public var maxConnectionsPerIP: Int
    /// A connection whose first full request (headers and body) has not arrived this many seconds
    /// after it opened, or whose later keep-alive request has not arrived this many seconds after
    /// its first byte, is closed, however steadily bytes trickle in. A connection that sends
    /// nothing is left to the idle timeout. 0 for no deadline.
    public var requestTimeoutSeconds: Double
    /// Bytes of request bodies held in memory across all connections; a body that would go over is
    /// refused with 503 and `Retry-After` before it is read. 0 for no limit, else at least `maxBodyBytes`.
    public var maxBodyBufferBytes: Int

    public init(
        listenAddress: String = ":9464",
        threadPoolSize: Int = 4,
        connectionTimeoutSeconds: Int = 30,
        maxBodyBytes: Int = 16 << 20,
        shutdownTimeoutSeconds: Double = 5,
        maxConnections: Int = 1024,
        maxConnectionsPerIP: Int = 128,
        requestTimeoutSeconds: Double = 30,
        maxBodyBufferBytes: Int = 256 << 20
    ) {
        self.listenAddress = listenAddress
        self.threadPoolSize = threadPoolSize
        self.connectionTimeoutSeconds = connectionTimeoutSeconds
        self.maxBodyBytes = maxBodyBytes
        self.shutdownTimeoutSeconds = shutdownTimeoutSeconds
        self.maxConnections = maxConnections
        self.maxConnectionsPerIP = maxConnectionsPerIP
        self.requestTimeoutSeconds = requestTimeoutSeconds
        self.maxBodyBufferBytes = maxBodyBufferBytes
    }

    /// Far above what one process can hold open; keeps MHD's own limit (this times the threads) in range.
    static let maxConnectionsCeiling = 1 << 20

    func validated() throws(HTTPServerError) -> ListenAddress {
        guard threadPoolSize >= 1 else { throw .invalidOption("threadPoolSize must be at least 1, not \(threadPoolSize)") }
        guard connectionTimeoutSeconds >= 0 else {
            throw .invalidOption("connectionTimeoutSeconds must not be negative, not \(connectionTimeoutSeconds)")
        }
        guard maxBodyBytes >= 0 else { throw .invalidOption("maxBodyBytes must not be negative, not \(maxBodyBytes)") }
        guard (1...Self.maxConnectionsCeiling).contains(maxConnections) else {
            throw .invalidOption("maxConnections must be 1 to \(Self.maxConnectionsCeiling), not \(maxConnections)")
        }
        guard maxConnectionsPerIP >= 0 else {
            throw .invalidOption("maxConnectionsPerIP must not be negative (0 for no limit), not \(maxConnectionsPerIP)")
        }
        guard requestTimeoutSeconds >= 0, requestTimeoutSeconds.isFinite else {
            throw .invalidOption("requestTimeoutSeconds must not be negative (0 for none), not \(requestTimeoutSeconds)")
        }
        guard maxBodyBufferBytes == 0 || maxBodyBufferBytes >= maxBodyBytes else {
            throw .invalidOption("maxBodyBufferBytes (\(maxBodyBufferBytes)) must be 0 (no limit) or at least maxBodyBytes (\(maxBodyBytes))")
        }
        return try ListenAddress(parsing: listenAddress)
    }
}
