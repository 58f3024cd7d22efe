import Synchronization

/// Which parts of the exporter are up; /-/ready answers 200 only when every registered part is.
public final class Readiness: Sendable {
    private let parts = Mutex<[(name: String, problem: String?, note: String?)]>([])

    public init() {}

    /// Records whether a part is ready: `problem` nil when it is, else the reason shown until it is;
    /// `note`, what a ready part still waits for (shown, not held against it).
    public func set(_ name: String, problem: String?, note: String? = nil) {
        parts.withLock { parts in
            if let index = parts.firstIndex(where: { $0.name == name }) {
                parts[index].problem = problem
                parts[index].note = note
            } else {
                parts.append((name, problem, note))
            }
        }
    }

    /// The parts not ready, each with its reason; empty when the exporter is ready.
    public func problems() -> [String] {
        parts.withLock { parts in parts.compactMap { part in part.problem.map { "\(part.name): \($0)" } } }
    }

    /// What ready parts wait for, each with its part's name.
    public func notes() -> [String] {
        parts.withLock { parts in parts.compactMap { part in part.note.map { "\(part.name): \($0)" } } }
    }
}
