import Synchronization

/// The latest pattern statuses, written by the tailer's thread and read by `/-/ready`.
final class PatternBoard: Sendable {
    private let statuses: Mutex<[PatternStatus]>

    /// Before the first scan every pattern is "not yet": nothing has been opened.
    init(patterns: [String]) {
        statuses = Mutex(patterns.map {
            PatternStatus(pattern: $0, matchedFiles: 0, followedFiles: 0, isReady: false, problem: "not scanned yet")
        })
    }

    var snapshot: [PatternStatus] {
        statuses.withLock { $0 }
    }

    func publish(_ new: [PatternStatus]) {
        statuses.withLock { $0 = new }
    }
}
