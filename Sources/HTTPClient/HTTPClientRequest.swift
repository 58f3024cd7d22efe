/// One HTTP request for `HTTPClient`: where, what, and how long it may take.
public struct HTTPClientRequest: Sendable {
    public enum Method: String, Sendable {
        case get = "GET"
        case post = "POST"
    }

    public var method: Method
    public var url: String
    /// Header lines, `Name: value`, without CRLF.
    public var headers: [String]
    /// The body of a POST (sent with `Content-Length`, without `Expect: 100-continue`).
    public var body: [UInt8]
    /// Seconds the whole transfer may take; nil for none (an event stream).
    public var timeout: Double?
    /// Seconds the TCP (and TLS) connection may take.
    public var connectTimeout: Double = 10
    /// Seconds without a byte of the answer (header or body) after which the transfer ends as `.idle`;
    /// nil for none.
    public var idleTimeout: Double?
    public var userAgent = "progress-exporter"
    /// TCP keep-alive probes on the connection (long-lived streams).
    public var tcpKeepAlive = false
    /// Redirects followed (to http or https only; a custom `Authorization` header is not sent to
    /// another host); 0 answers with the redirect itself.
    public var maxRedirects = 0

    public init(_ method: Method = .get, url: String, headers: [String] = [], body: [UInt8] = [], timeout: Double? = 10) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
    }
}

/// How a transfer ended.
public enum HTTPTransferEnd: Sendable, Equatable {
    /// The answer was read to its end (any status: the receiver saw it).
    case completed(status: Int)
    /// The receiver returned false: it had what it wanted, or refused the answer.
    case endedByReceiver(status: Int)
    /// The whole-transfer timeout passed.
    case timedOut
    /// No byte for the idle timeout.
    case idle
    /// `cancel()`, or the caller's stop signal.
    case cancelled
    /// libcurl's error: could not resolve, connect, TLS, a connection cut mid-answer...
    case failed(code: Int, reason: String)

    /// A short reason for logs and errors.
    public var reason: String {
        switch self {
        case .completed(let status), .endedByReceiver(let status): return "HTTP status \(status)"
        case .timedOut: return "timed out"
        case .idle: return "no bytes within the idle timeout"
        case .cancelled: return "cancelled"
        case .failed(_, let reason): return reason
        }
    }
}

/// What reads an answer as it arrives; called on the thread that runs the transfer.
public protocol HTTPResponseReceiver: AnyObject {
    /// One header line (with its CRLF), and the status of the answer it belongs to (0 before the status
    /// line is read). An interim answer (1xx) comes first and is followed by another status line. False
    /// ends the transfer.
    func headerLine(_ line: UnsafeRawBufferPointer, status: Int) -> Bool
    /// Bytes of the body. False ends the transfer.
    func body(_ bytes: UnsafeRawBufferPointer) -> Bool
}
