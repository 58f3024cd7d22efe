/// Where a source stood after a batch it delivered: for a followed file, which file (device and
/// inode, with the path it was read at) and the offset past the batch's last complete line; for an
/// event stream its last event id; for the journal or a bus consumer a sequence number. The one type
/// for a position: sources attach it to the lines they deliver (`LineOrigin.position`), the store
/// records it with the batch's sequence number (so "state at N" and "where each source was at N" are
/// one fact), the tailer resumes from it, and the offsets file holds it.
public struct SourcePosition: Sendable, Hashable, Codable {
    public var source: String
    public var path: String
    public var device: UInt64
    public var inode: UInt64
    public var offset: Int64
    /// Hash of the file's first `fingerprintLength` bytes (0: none yet), to tell a reused inode.
    public var fingerprintLength: Int
    public var fingerprintHash: UInt64
    /// For an event stream (`--events.sse-url`, `path` its URL): the last event id received, where
    /// the stream resumes after a restart (`Last-Event-ID`); nil for files.
    public var eventID: String?

    public init(source: String, path: String, device: UInt64, inode: UInt64, offset: Int64, fingerprintLength: Int = 0, fingerprintHash: UInt64 = 0, eventID: String? = nil) {
        self.source = source
        self.path = path
        self.device = device
        self.inode = inode
        self.offset = offset
        self.fingerprintLength = fingerprintLength
        self.fingerprintHash = fingerprintHash
        self.eventID = eventID
    }

    /// A stream's position rather than a file's.
    public static func stream(source: String, url: String, eventID: String) -> SourcePosition {
        SourcePosition(source: source, path: url, device: 0, inode: 0, offset: 0, eventID: eventID)
    }

    public var isStream: Bool { eventID != nil }

    /// A position of something that is not a file: the journal (`journal:`) or a message bus
    /// consumer (`nats:<stream>/<consumer>`), whose `offset` is a sequence number.
    public static func sequence(source: String, name: String, through sequence: UInt64) -> SourcePosition {
        SourcePosition(source: source, path: name, device: 0, inode: 0, offset: Int64(clamping: sequence))
    }

    /// A followed file's position (not a stream's, the journal's or a bus consumer's).
    public var isFile: Bool { !isStream && !(device == 0 && inode == 0) }

    /// Positions are kept per file, per stream, and per named sequence.
    public var key: String { isStream ? "stream:\(path)" : isFile ? "\(device):\(inode)" : "sequence:\(path)" }
}
