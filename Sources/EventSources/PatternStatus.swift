/// Whether one `--events.file` pattern has an open file, for `/-/ready` and the status page.
///
/// A pattern is ready once a file it matches has been opened. It stays ready after that:
/// a rotation briefly leaves the path empty, and readiness should not flap with it.
public struct PatternStatus: Sendable, Equatable {
    /// The pattern as given.
    public var pattern: String
    /// Regular files the pattern matches at the latest poll.
    public var matchedFiles: Int
    /// Matched files being followed now.
    public var followedFiles: Int
    /// True once a matching file has been opened.
    public var isReady: Bool
    /// Why the pattern is not ready, e.g. "no file matches yet"; nil when ready.
    public var problem: String?
    /// Nothing matches the pattern yet and nothing stands in the way: the follower waits for a file
    /// that will appear, which is not a fault (`/-/ready` says so and stays ready).
    public var isWaitingForAFile: Bool

    public init(pattern: String, matchedFiles: Int, followedFiles: Int, isReady: Bool, problem: String?, isWaitingForAFile: Bool = false) {
        self.pattern = pattern
        self.matchedFiles = matchedFiles
        self.followedFiles = followedFiles
        self.isReady = isReady
        self.problem = problem
        self.isWaitingForAFile = isWaitingForAFile
    }
}
