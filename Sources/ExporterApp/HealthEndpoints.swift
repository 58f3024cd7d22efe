import MicroHTTP

/// /-/ready: 200 once every event source is open, else 503 naming the ones that are not.
enum HealthEndpoints {
    static func ready(_ readiness: Readiness) -> HTTPResponse {
        let problems = readiness.problems()
        if problems.isEmpty { return .text("Ready.\n") }
        return .text("Not ready:\n" + problems.map { "- \($0)\n" }.joined(), status: 503)
    }
}
