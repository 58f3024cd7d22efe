/// Something about a followed file that a person should read in the log: a file found again after it
/// was renamed while the exporter was down, or lines that could not be read at all.
public struct FileNotice: Sendable, Equatable {
    public enum Kind: String, Sendable {
        /// A file rotated while the exporter was down was found and is read to its end.
        case recovered
        /// Unread lines of a file could not be found (moved away, deleted, rewritten in place).
        case unrecoverable
    }

    public var kind: Kind
    public var path: String
    public var detail: String
}

/// Receives notices on the tailer's thread.
public typealias FileNoticeHandler = @Sendable (FileNotice) -> Void
