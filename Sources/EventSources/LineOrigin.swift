/// Where a batch of lines came from: the kind of source and, for a file, the path it was read at.
public struct LineOrigin: Sendable, Hashable {
    /// The source kind that tailed files report.
    public static let fileSource = "file"
    /// The source kind that standard input reports.
    public static let standardInputSource = "stdin"

    /// `"file"`, `"stdin"`, or the name another source chooses.
    public var source: String
    /// The path the file was matched at (prodigy runs are keyed by its parent folders); nil for streams.
    public var path: String?

    public init(source: String, path: String? = nil) {
        self.source = source
        self.path = path
    }
}

/// Receives complete lines, each ending in `\n`, several per call; called on the source's own thread.
public typealias LineBatchHandler = @Sendable (_ lines: [UInt8], _ origin: LineOrigin) -> Void

/// Told about a line longer than the source's `maxLineBytes` (length without its `\n`); the line was skipped.
public typealias OversizedLineHandler = @Sendable (_ origin: LineOrigin, _ length: Int) -> Void
