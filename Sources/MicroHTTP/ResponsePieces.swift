/// A body held in several buffers, sent in order under one `Content-Length` without being joined
/// (MHD's iovec response). `owner` keeps the memory the buffers point to alive and unchanged; the
/// server drops its reference once the body is sent, so the owner's deinit may recycle the memory.
///
/// libmicrohttpd 0.9.75 stops sending an iovec response of more than IOV_MAX (1,024) vectors part
/// way, and the client waits for the rest until the connection times out. Bodies of more pieces
/// (a scrape of a hundred jobs sends each job's kept lines per family) are sent as at most
/// `maxVectors`: runs of small pieces are copied together into buffers of at least `total / 256`
/// bytes (64 KiB at least), and large pieces stay where they are.
public final class ResponsePieces: @unchecked Sendable {
    /// Unchanged while `owner` lives: that is the owner's promise, which makes this Sendable.
    public let buffers: [UnsafeRawBufferPointer]
    private let owner: AnyObject & Sendable
    /// Memory of joined runs of small pieces, freed with this object.
    private let joinedRuns: [UnsafeMutableRawBufferPointer]

    /// The most vectors handed to libmicrohttpd for one body.
    public static let maxVectors = 800

    public init(_ buffers: [UnsafeRawBufferPointer], owner: AnyObject & Sendable) {
        let pieces = buffers.filter { !$0.isEmpty }
        self.owner = owner
        guard pieces.count > Self.maxVectors else {
            self.buffers = pieces
            joinedRuns = []
            return
        }
        // Each vector is a run that reached `run` bytes, a large piece, or a run ended by one:
        // at most 3 × total / run + 1 vectors, which `run` keeps under maxVectors.
        let total = pieces.reduce(0) { $0 + $1.count }
        let run = max(64 << 10, total / 256 + 1)
        var out: [UnsafeRawBufferPointer] = []
        var joined: [UnsafeMutableRawBufferPointer] = []
        var pending: [UnsafeRawBufferPointer] = []
        var pendingBytes = 0
        func flush() {
            guard !pending.isEmpty else { return }
            if pending.count == 1 {
                out.append(pending[0])
            } else {
                let memory = UnsafeMutableRawBufferPointer.allocate(byteCount: pendingBytes, alignment: 16)
                var offset = 0
                for piece in pending {
                    UnsafeMutableRawBufferPointer(rebasing: memory[offset..<offset + piece.count]).copyMemory(from: piece)
                    offset += piece.count
                }
                joined.append(memory)
                out.append(UnsafeRawBufferPointer(memory))
            }
            pending.removeAll(keepingCapacity: true)
            pendingBytes = 0
        }
        for piece in pieces {
            if piece.count >= run {
                flush()
                out.append(piece)
                continue
            }
            pending.append(piece)
            pendingBytes += piece.count
            if pendingBytes >= run { flush() }
        }
        flush()
        self.buffers = out
        joinedRuns = joined
    }

    deinit {
        for memory in joinedRuns { memory.deallocate() }
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
