/// A body held in several buffers, sent in order under one `Content-Length` without being joined
/// (MHD's iovec response). `owner` keeps the memory the buffers point to alive and unchanged; the
/// server drops its reference once the body is sent, so the owner's deinit may recycle the memory.
public final class ResponsePieces: @unchecked Sendable {
    /// Unchanged while `owner` lives: that is the owner's promise, which makes this Sendable.
    public let buffers: [UnsafeRawBufferPointer]
    private let owner: AnyObject & Sendable

    public init(_ buffers: [UnsafeRawBufferPointer], owner: AnyObject & Sendable) {
        self.buffers = buffers.filter { !$0.isEmpty }
        self.owner = owner
    }

    public var count: Int { buffers.reduce(0) { $0 + $1.count } }

    /// All bytes in one array (a copy).
    public var joined: [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count)
        for buffer in buffers { bytes.append(contentsOf: buffer) }
        return bytes
    }
}
