/// Which receivers an alert goes to: label equality; the first match wins unless `continue` is set.
/// `job` in `match` means `job_name` on alerts without a `job` label of their own (the name before 2026-11).
public struct AlertRoute: Sendable, Equatable {
    public var receiver: String
    public var match: [String: String]
    public var continueMatching: Bool

    public init(receiver: String, match: [String: String] = [:], continueMatching: Bool = false) {
        self.receiver = receiver
        self.match = match
        self.continueMatching = continueMatching
    }

    /// The receivers for an alert with `labels`: no routes means every receiver; an alert that
    /// matches no route goes to the first receiver.
    public static func receivers(for labels: [String: String], routes: [AlertRoute], receivers: [String]) -> [String] {
        guard !routes.isEmpty else { return receivers }
        var out: [String] = []
        for route in routes where route.match.allSatisfy({ AlertLabels.value($0.key, in: labels) == $0.value }) {
            if !out.contains(route.receiver) { out.append(route.receiver) }
            if !route.continueMatching { break }
        }
        if out.isEmpty, let first = receivers.first { out.append(first) }
        return out
    }
}
