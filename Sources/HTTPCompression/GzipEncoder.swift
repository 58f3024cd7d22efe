import CZlib

/// Compresses a whole body into one gzip member (RFC 1952) with zlib's deflate.
public struct GzipEncoder: Sendable {
    /// zlib's compression level, 1 (fastest) to 9 (smallest).
    public let level: Int

    public init(level: Int) {
        precondition((1...9).contains(level), "gzip level must be 1...9, not \(level)")
        self.level = level
    }

    /// The gzip encoding of `input`.
    public func encode(_ input: [UInt8]) throws(GzipError) -> [UInt8] {
        try input.withUnsafeBytes { bytes in Result { () throws(GzipError) in try encode(pieces: [bytes]) } }.get()
    }

    /// The gzip encoding of the pieces joined, without joining them: one deflate call per piece, then
    /// one to finish, into one output buffer sized by deflateBound for the total.
    public func encode(pieces: [UnsafeRawBufferPointer]) throws(GzipError) -> [UInt8] {
        let total = pieces.reduce(0) { $0 + $1.count }
        // z_stream counts input and output in 32-bit fields; a body this large is not a scrape anyway.
        guard total < Int(UInt32.max / 2) else { throw .inputTooLarge(total) }
        var stream = z_stream()
        let initialized = pe_deflate_init_gzip(&stream, Int32(level))
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

/// Why a body could not be gzip-encoded; the caller sends it unencoded instead.
public enum GzipError: Error, Equatable, CustomStringConvertible {
    case inputTooLarge(Int)
    case zlib(function: String, code: Int32)

    public var description: String {
        switch self {
        case .inputTooLarge(let count): return "gzip: \(count) bytes is more than one deflate call takes"
        case .zlib(let function, let code): return "gzip: \(function) returned \(code)"
        }
    }
}
