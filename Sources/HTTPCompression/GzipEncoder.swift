import CISAL
import CZlib

/// Compresses a whole body into one gzip member (RFC 1952): with ISA-L's igzip at the fast levels,
/// where it compresses an exposition about as well as zlib's level 1 some five to nine times faster,
/// and with zlib's deflate at the levels that ask for smaller answers than igzip makes.
public struct GzipEncoder: Sendable {
    /// The level asked for (`--web.gzip-level`), 1 (fastest) to 9 (smallest), as gzip counts them.
    public let level: Int

    public init(level: Int) {
        precondition((1...9).contains(level), "gzip level must be 1...9, not \(level)")
        self.level = level
    }

    /// Which deflate does the work, at which of its levels.
    public enum Engine: Equatable, Sendable {
        /// ISA-L igzip's level 1...3 (0, which fits no Huffman code to the input, compresses an exposition badly).
        case igzip(Int32)
        /// zlib's deflate at that level.
        case zlib(Int32)
    }

    /// 1...3: igzip's levels 1...3 (a 10,000-agent body: 11 ms at 1 and 2, 69 ms at 3, all about 22.5 times
    /// smaller); 4...9: zlib's (27-28 times smaller, 115 ms to over a second). Measured in Benchmarks/peers/README.md.
    public var engine: Engine { level <= 3 ? .igzip(Int32(level)) : .zlib(Int32(level)) }

    /// The gzip encoding of `input`.
    public func encode(_ input: [UInt8]) throws(GzipError) -> [UInt8] {
        try input.withUnsafeBytes { bytes in Result { () throws(GzipError) in try encode(pieces: [bytes]) } }.get()
    }

    /// The gzip encoding of the pieces joined, without joining them.
    public func encode(pieces: [UnsafeRawBufferPointer]) throws(GzipError) -> [UInt8] {
        let total = pieces.reduce(0) { $0 + $1.count }
        // Both libraries count input and output in 32-bit fields; a body this large is not a scrape anyway.
        guard total < Int(UInt32.max / 2) else { throw .inputTooLarge(total) }
        switch engine {
        case .igzip(let level): return try Self.igzip(pieces, total: total, level: level)
        case .zlib(let level): return try Self.zlib(pieces, total: total, level: level)
        }
    }

    /// igzip reads the pieces in turn into one member; its output goes into a buffer that grows when
    /// the body compresses badly.
    private static func igzip(_ pieces: [UnsafeRawBufferPointer], total: Int, level: Int32) throws(GzipError) -> [UInt8] {
        try withIgzipStream(level: level, gzipFlag: IGZIP_GZIP) { stream throws(GzipError) in
            try igzip(pieces, total: total, stream: &stream)
        }
    }

    /// An igzip stream at `level` (1-3) with its level buffer, for `body`; `gzipFlag` is
    /// IGZIP_GZIP for a whole member, IGZIP_DEFLATE for raw deflate.
    static func withIgzipStream<R>(level: Int32, gzipFlag: Int32, _ body: (inout isal_zstream) throws(GzipError) -> R) throws(GzipError) -> R {
        let levelBufferSize = Int(pe_isal_level_buf_size(level))
        let levelBuffer = UnsafeMutableRawPointer.allocate(byteCount: max(levelBufferSize, 1), alignment: 64)
        defer { levelBuffer.deallocate() }
        var stream = isal_zstream()
        isal_deflate_init(&stream)
        stream.level = UInt32(level)
        stream.level_buf = levelBuffer.assumingMemoryBound(to: UInt8.self)
        stream.level_buf_size = UInt32(levelBufferSize)
        stream.gzip_flag = UInt16(gzipFlag)
        stream.flush = UInt16(NO_FLUSH)
        return try body(&stream)
    }

    private static func igzip(_ pieces: [UnsafeRawBufferPointer], total: Int, stream: inout isal_zstream) throws(GzipError) -> [UInt8] {

        // A scrape's text compresses 15-30 times; start at an eighth and grow by doubling.
        var output = OutputBuffer(capacity: max(total / 8, 4096))
        defer { output.deallocate() }
        let nonEmpty = pieces.filter { !$0.isEmpty }
        var index = 0
        repeat {
            let last = index >= nonEmpty.count - 1
            stream.end_of_stream = last ? 1 : 0
            if index < nonEmpty.count {
                // igzip never writes through next_in; its header just lacks the const.
                stream.next_in = UnsafeMutablePointer(mutating: nonEmpty[index].baseAddress?.assumingMemoryBound(to: UInt8.self))
                stream.avail_in = UInt32(nonEmpty[index].count)
            }
            // Until this piece is read and, after the last one, the member is complete.
            while true {
                if output.free == 0 { output.grow() }
                stream.next_out = output.end
                stream.avail_out = UInt32(min(output.free, Int(UInt32.max)))
                let before = stream.avail_out
                let code = isal_deflate(&stream)
                guard code == COMP_OK else { throw .igzip(function: "isal_deflate", code: code) }
                output.count += Int(before - stream.avail_out)
                if stream.avail_in == 0 && (!last || pe_isal_finished(&stream) != 0) { break }
                // Input is left or the trailer is not out: igzip stops only when the output is full.
                if stream.avail_out != 0 { throw .igzip(function: "isal_deflate", code: -1) }
            }
            index += 1
        } while index < nonEmpty.count
        return output.bytes()
    }

    /// zlib: one deflate call per piece, then one to finish, into one output buffer sized by deflateBound for the total.
    private static func zlib(_ pieces: [UnsafeRawBufferPointer], total: Int, level: Int32) throws(GzipError) -> [UInt8] {
        var stream = z_stream()
        let initialized = pe_deflate_init_gzip(&stream, level)
        guard initialized == Z_OK else { throw .zlib(function: "deflateInit2", code: initialized) }
        defer { deflateEnd(&stream) }
        let bound = Int(deflateBound(&stream, uLong(total)))
        var code = Z_OK
        let output = [UInt8](unsafeUninitializedCapacity: bound) { out, written in
            stream.next_out = out.baseAddress
            stream.avail_out = uInt(out.count)
            // An empty piece is skipped: deflate without input or flush reports Z_BUF_ERROR.
            for piece in pieces where code == Z_OK && !piece.isEmpty {
                // zlib never writes through next_in; its header just lacks the const.
                stream.next_in = UnsafeMutablePointer(mutating: piece.baseAddress?.assumingMemoryBound(to: UInt8.self))
                stream.avail_in = uInt(piece.count)
                code = deflate(&stream, Z_NO_FLUSH)
            }
            if code == Z_OK { code = deflate(&stream, Z_FINISH) }
            written = Int(stream.total_out)
        }
        // deflateBound's room holds the whole stream: the last call, with Z_FINISH, completes it.
        guard code == Z_STREAM_END else { throw .zlib(function: "deflate", code: code) }
        return output
    }
}

/// Compressed bytes as they come out of igzip: raw memory grown by doubling, copied once into an array at the end.
private struct OutputBuffer {
    private(set) var start: UnsafeMutablePointer<UInt8>
    private(set) var capacity: Int
    var count = 0

    init(capacity: Int) {
        self.capacity = capacity
        start = .allocate(capacity: capacity)
    }

    var end: UnsafeMutablePointer<UInt8> { start + count }
    var free: Int { capacity - count }

    mutating func grow() {
        let larger = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity * 2)
        larger.update(from: start, count: count)
        start.deallocate()
        start = larger
        capacity *= 2
    }

    func bytes() -> [UInt8] { Array(UnsafeBufferPointer(start: start, count: count)) }

    func deallocate() { start.deallocate() }
}

/// Why a body could not be gzip-encoded; the caller sends it unencoded instead.
public enum GzipError: Error, Equatable, CustomStringConvertible {
    case inputTooLarge(Int)
    case igzip(function: String, code: Int32)
    case zlib(function: String, code: Int32)

    public var description: String {
        switch self {
        case .inputTooLarge(let count): return "gzip: \(count) bytes is more than one deflate call takes"
        case .igzip(let function, let code): return "gzip: \(function) returned \(code)"
        case .zlib(let function, let code): return "gzip: \(function) returned \(code)"
        }
    }
}
