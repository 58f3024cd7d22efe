/// Settings of an `HTTPServer`.
public struct HTTPServerOptions: Sendable, Equatable {
    /// `host:port` as `ListenAddress` parses it; port 0 picks a free port (see `boundPort`).
    public var listenAddress: String
    /// MHD worker threads, each running its own epoll loop.
    public var threadPoolSize: Int
    /// An idle connection is closed after this many seconds; 0 never closes it.
    public var connectionTimeoutSeconds: Int
    /// A larger request body is refused with 413.
    public var maxBodyBytes: Int
    /// How long `stop` waits for requests in flight before closing their connections.
    public var shutdownTimeoutSeconds: Double

    public init(
        listenAddress: String = ":9464",
        threadPoolSize: Int = 4,
        connectionTimeoutSeconds: Int = 30,
        maxBodyBytes: Int = 16 << 20,
        shutdownTimeoutSeconds: Double = 5
    ) {
        self.listenAddress = listenAddress
        self.threadPoolSize = threadPoolSize
        self.connectionTimeoutSeconds = connectionTimeoutSeconds
        self.maxBodyBytes = maxBodyBytes
        self.shutdownTimeoutSeconds = shutdownTimeoutSeconds
    }

    func validated() throws(HTTPServerError) -> ListenAddress {
        guard threadPoolSize >= 1 else { throw .invalidOption("threadPoolSize must be at least 1, not \(threadPoolSize)") }
        guard connectionTimeoutSeconds >= 0 else {
            throw .invalidOption("connectionTimeoutSeconds must not be negative, not \(connectionTimeoutSeconds)")
        }
        guard maxBodyBytes >= 0 else { throw .invalidOption("maxBodyBytes must not be negative, not \(maxBodyBytes)") }
        return try ListenAddress(parsing: listenAddress)
    }
}
