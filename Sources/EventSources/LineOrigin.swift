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
    /// For a file: which file (device and inode) and the offset just past the last complete line of
    /// this batch, so whoever applies the batch can record where the source stood after it.
    public var device: UInt64?
    public var inode: UInt64?
    public var offset: Int64?
    /// A hash of the file's first bytes (up to 1 KiB) and how many it covers: a later start can
    /// check that the file at this identity is still the one read (inode numbers are reused).
    public var fingerprintLength: Int?
    public var fingerprintHash: UInt64?
    /// For an event stream (`--events.sse-url`): the stream's URL without credentials or query, and
    /// the last event id received once this batch was read, where the stream would resume.
    public var stream: String?
    public var lastEventID: String?

    public init(source: String, path: String? = nil, device: UInt64? = nil, inode: UInt64? = nil, offset: Int64? = nil) {
        self.source = source
        self.path = path
        self.device = device
        self.inode = inode
        self.offset = offset
    }
}

/// Where to continue reading a followed file after a restart: the position recorded with the
/// state that was restored (see `FileTailer`'s `resumeAt`).
public struct FileResumePoint: Sendable, Hashable {
    public var path: String
    public var device: UInt64
    public var inode: UInt64
    public var offset: Int64
    public var fingerprintLength: Int
    public var fingerprintHash: UInt64

    public init(path: String, device: UInt64, inode: UInt64, offset: Int64, fingerprintLength: Int, fingerprintHash: UInt64) {
        self.path = path
        self.device = device
        self.inode = inode
        self.offset = offset
        self.fingerprintLength = fingerprintLength
        self.fingerprintHash = fingerprintHash
    }
}

/// Receives complete lines, each ending in `\n`, several per call; called on the source's own thread.
public typealias LineBatchHandler = @Sendable (_ lines: [UInt8], _ origin: LineOrigin) -> Void

/// Told about a line longer than the source's `maxLineBytes` (length without its `\n`); the line was skipped.
public typealias OversizedLineHandler = @Sendable (_ origin: LineOrigin, _ length: Int) -> Void
