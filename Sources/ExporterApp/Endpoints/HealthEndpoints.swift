import MicroHTTP

/// /-/ready: 200 once every event source is open (or, for a followed file, waits for its file to
/// appear), else 503 naming the ones that are not; what ready sources still wait for follows.
enum HealthEndpoints {
    static func ready(_ readiness: Readiness) -> HTTPResponse {
        let problems = readiness.problems()
        let notes = readiness.notes().map { "- \($0)\n" }.joined()
        if problems.isEmpty { return .text("Ready.\n" + (notes.isEmpty ? "" : "Waiting, which is not a fault:\n" + notes)) }
        return .text("Not ready:\n" + problems.map { "- \($0)\n" }.joined() + (notes.isEmpty ? "" : "Waiting:\n" + notes), status: 503)
    }
}
