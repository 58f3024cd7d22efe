import Synchronization

/// Which parts of the exporter are up; /-/ready answers 200 only when every registered part is.
public final class Readiness: Sendable {
    private let parts = Mutex<[(name: String, problem: String?)]>([])

    public init() {}

    /// Records whether a part is ready: nil when it is, else the reason shown until it is.
    public func set(_ name: String, problem: String?) {
        parts.withLock { parts in
            if let index = parts.firstIndex(where: { $0.name == name }) {
                parts[index].problem = problem
            } else {
                parts.append((name, problem))
            }
        }
    }

    /// The parts not ready, each with its reason; empty when the exporter is ready.
    public func problems() -> [String] {
        parts.withLock { parts in parts.compactMap { part in part.problem.map { "\(part.name): \($0)" } } }
    }
}
