/// One HTTP request as the handler sees it: fully read, decoded, owned by the handler.
public struct HTTPRequest: Sendable {
    /// The method as sent, e.g. `GET`.
    public var method: String
    /// The percent-decoded path, without the query string.
    public var path: String
    /// The path as sent, escapes kept: the router splits it on '/' before decoding each segment,
    /// so an escaped '/' ("%2F") stays inside a path parameter such as a job id.
    public var rawPath: String
    /// Decoded query parameters; the first value wins when a name repeats.
    public var query: [String: String]
    /// Header values keyed by lowercased name; repeated headers are joined with ", ".
    public var headers: [String: String]
    /// The request body (empty when there is none).
    public var body: [UInt8]
    /// The peer as `host:port` (`[v6]:port` for IPv6), when known.
    public var remoteAddress: String?
    /// Values of `:name` segments of the matched route pattern, filled in by `Router`.
    public var pathParameters: [String: String]

    /// `rawPath` defaults to `path` (a path without escapes, as tests write them).
    public init(
        method: String,
        path: String,
        rawPath: String? = nil,
        query: [String: String] = [:],
        headers: [String: String] = [:],
        body: [UInt8] = [],
        remoteAddress: String? = nil,
        pathParameters: [String: String] = [:]
    ) {
        self.method = method
        self.path = path
        self.rawPath = rawPath ?? path
        self.query = query
        // Lowercased here too so requests built by hand in tests behave like real ones.
        var lowered: [String: String] = [:]
        for (name, value) in headers { lowered[name.lowercased()] = value }
        self.headers = lowered
        self.body = body
        self.remoteAddress = remoteAddress
        self.pathParameters = pathParameters
    }

    /// The value of a header, by case-insensitive name.
    public func header(_ name: String) -> String? {
        headers[name.lowercased()]
    }
}
