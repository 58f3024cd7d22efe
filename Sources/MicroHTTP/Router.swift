/// Maps a method and path to a handler; answers unknown paths with 404 and wrong methods with 405.
///
/// Patterns are literal paths whose segments may be `:name`, matching one non-empty
/// segment that the handler finds in `request.pathParameters`. The first matching
/// pattern wins. `HEAD` is answered by the `GET` handler (the server drops the body).
public struct Router: Sendable {
    public typealias Handler = @Sendable (HTTPRequest) -> HTTPResponse

    /// One registered route.
    public struct Route: Sendable {
        public let method: String
        public let pattern: String
        let segments: [Segment]
        let handler: Handler
    }

    enum Segment: Sendable, Equatable {
        case literal(Substring)
        case parameter(String)
    }

    public private(set) var routes: [Route] = []

    public init() {}

    /// Adds a route; `method` is matched exactly, e.g. "GET".
    public mutating func route(_ method: String, _ pattern: String, _ handler: @escaping Handler) {
        routes.append(Route(method: method, pattern: pattern, segments: Self.segments(of: pattern), handler: handler))
    }

    /// Answers `request` with the matching route, or with 404 or 405.
    public func handle(_ request: HTTPRequest) -> HTTPResponse {
        let wanted = request.method == "HEAD" ? "GET" : request.method
        // Split before decoding: an escaped '/' belongs to its segment (a job id "team/etl").
        let pathSegments = request.rawPath.split(separator: "/", omittingEmptySubsequences: false).map(PercentDecoding.decode)
        var allowed: [String] = []
        for route in routes {
            guard let parameters = Self.match(route.segments, pathSegments) else { continue }
            if route.method == wanted {
                var request = request
                request.pathParameters = parameters
                return route.handler(request)
            }
            if !allowed.contains(route.method) { allowed.append(route.method) }
        }
        if allowed.isEmpty {
            return .text("no route for \(request.path); see / for the endpoints\n", status: 404)
        }
        if allowed.contains("GET") && !allowed.contains("HEAD") { allowed.append("HEAD") }
        let allow = allowed.joined(separator: ", ")
        return HTTPResponse.text("method \(request.method) not allowed for \(request.path); allowed: \(allow)\n", status: 405)
            .adding(header: "Allow", allow)
    }

    static func segments(of pattern: String) -> [Segment] {
        pattern.split(separator: "/", omittingEmptySubsequences: false).map { segment in
            segment.first == ":" ? .parameter(String(segment.dropFirst())) : .literal(segment)
        }
    }

    static func match(_ pattern: [Segment], _ path: [String]) -> [String: String]? {
        guard pattern.count == path.count else { return nil }
        var parameters: [String: String] = [:]
        for (segment, actual) in zip(pattern, path) {
            switch segment {
            case .literal(let literal):
                if literal != actual[...] { return nil }
            case .parameter(let name):
                if actual.isEmpty { return nil }
                parameters[name] = String(actual)
            }
        }
        return parameters
    }
}
