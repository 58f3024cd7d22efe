/// Why an HTTP server could not start; `description` is a message for the operator.
public enum HTTPServerError: Error, Equatable, CustomStringConvertible {
    /// The listen address text could not be parsed.
    case invalidListenAddress(String, reason: String)
    /// The address could not be resolved, bound or listened on, e.g. the port is taken.
    case listen(String, reason: String)
    /// libmicrohttpd did not start on the listening socket.
    case daemon(String, reason: String)
    /// An `HTTPServerOptions` value is out of range.
    case invalidOption(String)
    case alreadyRunning

    public var description: String {
        switch self {
        case .invalidListenAddress(let text, let reason):
            "invalid listen address \"\(text)\": \(reason)"
        case .listen(let address, let reason):
            "listen \(address): \(reason)"
        case .daemon(let address, let reason):
            "listen \(address): libmicrohttpd did not start: \(reason)"
        case .invalidOption(let reason):
            "invalid HTTP server option: \(reason)"
        case .alreadyRunning:
            "the HTTP server is already running"
        }
    }
}
