import Events

/// Where a batch of lines came from: the kind of source and, for a file, the path it was read at.
public struct LineOrigin: Sendable, Hashable {
    /// The source kind that tailed files report.
    public static let fileSource = "file"
    /// The source kind that standard input reports.
    public static let standardInputSource = "stdin"
    /// The source kind that server-sent event streams report.
    public static let serverSentEventsSource = "sse"

    /// `"file"`, `"stdin"`, or the name another source chooses.
    public var source: String
    /// The path the file was matched at (prodigy runs are keyed by its parent folders); nil for streams.
    public var path: String?
    /// Where the source stood once this batch was read: for a file, which one and the offset just past
    /// the batch's last complete line; for an event stream, its last event id. Whoever applies the batch
    /// records it with the batch. Nil for standard input.
    public var position: SourcePosition?

    public init(source: String, path: String? = nil, position: SourcePosition? = nil) {
        self.source = source
        self.path = path
        self.position = position
    }
}

/// Receives complete lines, each ending in `\n`, several per call; called on the source's own thread.
public typealias LineBatchHandler = @Sendable (_ lines: [UInt8], _ origin: LineOrigin) -> Void

/// Told about a line longer than the source's `maxLineBytes` (length without its `\n`); the line was skipped.
public typealias OversizedLineHandler = @Sendable (_ origin: LineOrigin, _ length: Int) -> Void
