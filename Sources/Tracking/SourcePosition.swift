/// Where a source stood after a batch it delivered: for a followed file, which file (device and
/// inode, with the path it was read at) and the offset past the batch's last complete line. The
/// store records it with the batch's sequence number, so "state at N" and "where each source was
/// at N" are one fact.
public struct SourcePosition: Sendable, Hashable, Codable {
    public var source: String
    public var path: String
    public var device: UInt64
    public var inode: UInt64
    public var offset: Int64
    /// Hash of the file's first `fingerprintLength` bytes (0: none yet), to tell a reused inode.
    public var fingerprintLength: Int
    public var fingerprintHash: UInt64

    public init(source: String, path: String, device: UInt64, inode: UInt64, offset: Int64, fingerprintLength: Int = 0, fingerprintHash: UInt64 = 0) {
        self.source = source
        self.path = path
        self.device = device
        self.inode = inode
        self.offset = offset
        self.fingerprintLength = fingerprintLength
        self.fingerprintHash = fingerprintHash
    }

    /// Positions are kept per file.
    var key: String { "\(device):\(inode)" }
}
