import CZlib

/// Compresses a whole body into one gzip member (RFC 1952) with zlib's deflate.
public struct GzipEncoder: Sendable {
    /// zlib's compression level, 1 (fastest) to 9 (smallest).
    public let level: Int

    public init(level: Int) {
        precondition((1...9).contains(level), "gzip level must be 1...9, not \(level)")
        self.level = level
    }

    /// The gzip encoding of `input`, produced in one deflate call into a buffer sized by deflateBound.
    public func encode(_ input: [UInt8]) throws(GzipError) -> [UInt8] {
        // z_stream counts input and output in 32-bit fields; a body this large is not a scrape anyway.
        guard input.count < Int(UInt32.max / 2) else { throw .inputTooLarge(input.count) }
        var stream = z_stream()
        let initialized = pe_deflate_init_gzip(&stream, Int32(level))
        guard initialized == Z_OK else { throw .zlib(function: "deflateInit2", code: initialized) }
        defer { deflateEnd(&stream) }
        let bound = Int(deflateBound(&stream, uLong(input.count)))
        var code = Z_OK
        let output = [UInt8](unsafeUninitializedCapacity: bound) { out, written in
            input.withUnsafeBufferPointer { source in
                // zlib never writes through next_in; its header just lacks the const.
                stream.next_in = UnsafeMutablePointer(mutating: source.baseAddress)
                stream.avail_in = uInt(source.count)
                stream.next_out = out.baseAddress
                stream.avail_out = uInt(out.count)
                code = deflate(&stream, Z_FINISH)
            }
            written = Int(stream.total_out)
        }
        // With deflateBound's room, one Z_FINISH call always completes the stream.
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
