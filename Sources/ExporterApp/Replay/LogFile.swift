import CZlib
import Foundation

/// A recorded event log read from its start to its end, plain or gzip (told by the magic bytes
/// `1f 8b`, not by the name), delivered as chunks of complete lines. Concatenated gzip members
/// (`cat a.gz b.gz`, what log rotation often leaves) are read one after the other.
public final class LogFile {
    public let path: String
    /// The file's size on disk (compressed, for gzip): what the progress is measured against.
    public let size: Int
    public let isGzip: Bool
    /// Bytes of the file read so far (compressed bytes, for gzip).
    public private(set) var consumed = 0
    private let handle: FileHandle
    private var inflater: Inflater?
    private var pending: [UInt8] = []
    private var ended = false

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public init(path: String) throws(Failure) {
        self.path = path
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw Failure(description: "\(path): cannot be opened for reading")
        }
        self.handle = handle
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        size = (attributes?[.size] as? NSNumber)?.intValue ?? 0
        let head = [UInt8]((try? handle.read(upToCount: 2)) ?? Data())
        try? handle.seek(toOffset: 0)
        isGzip = head == [0x1f, 0x8b]
        if isGzip { inflater = try Inflater(path: path) }
    }

    deinit { try? handle.close() }

    /// Up to about `bytes` of complete lines (each ending in a newline, but the file's last line
    /// may lack one); nil at the end of the file.
    public func nextLines(about bytes: Int = 1 << 20) throws(Failure) -> [UInt8]? {
        while !ended {
            if pending.count >= bytes, let cut = pending.lastIndex(of: UInt8(ascii: "\n")) {
                let lines = Array(pending[...cut])
                pending.removeFirst(cut + 1)
                return lines
            }
            let raw: Data
            do {
                raw = try handle.read(upToCount: 1 << 20) ?? Data()
            } catch {
                throw Failure(description: "\(path): read failed: \(error.localizedDescription)")
            }
            consumed += raw.count
            if raw.isEmpty {
                ended = true
                if let inflater, !inflater.atMemberEnd {
                    throw Failure(description: "\(path): the gzip stream ends early (truncated file)")
                }
                break
            }
            if let inflater {
                pending += try inflater.inflate([UInt8](raw))
            } else {
                pending += [UInt8](raw)
            }
        }
        guard !pending.isEmpty else { return nil }
        let rest = pending
        pending = []
        return rest
    }
}

/// zlib's inflate over one or more gzip members.
final class Inflater {
    private var stream = z_stream()
    private let path: String
    /// True between members: nothing of a member is waiting for more input.
    private(set) var atMemberEnd = true

    init(path: String) throws(LogFile.Failure) {
        self.path = path
        let code = pe_inflate_init_gzip(&stream)
        guard code == Z_OK else { throw LogFile.Failure(description: "\(path): inflateInit2 returned \(code)") }
    }

    deinit { inflateEnd(&stream) }

    func inflate(_ input: [UInt8]) throws(LogFile.Failure) -> [UInt8] {
        var output: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 18)
        var failure: Int32?
        input.withUnsafeBytes { inBytes in
            guard let base = inBytes.baseAddress, !inBytes.isEmpty else { return }
            stream.next_in = UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: UInt8.self))
            stream.avail_in = uInt(inBytes.count)
            var full = false
            repeat {
                let (code, produced) = buffer.withUnsafeMutableBytes { out -> (Int32, Int) in
                    stream.next_out = out.baseAddress!.assumingMemoryBound(to: UInt8.self)
                    stream.avail_out = uInt(out.count)
                    let code = CZlib.inflate(&stream, Z_NO_FLUSH)
                    return (code, out.count - Int(stream.avail_out))
                }
                output += buffer[..<produced]
                full = produced == buffer.count
                switch code {
                case Z_STREAM_END:
                    // Another member may follow.
                    atMemberEnd = true
                    inflateReset(&stream)
                case Z_OK:
                    atMemberEnd = false
                case Z_BUF_ERROR:
                    // No progress possible: every input byte is taken and the output is out.
                    return
                default:
                    failure = code
                    return
                }
            } while stream.avail_in > 0 || full
        }
        if let failure {
            let message = stream.msg.map { String(cString: $0) } ?? "code \(failure)"
            throw LogFile.Failure(description: "\(path): not a readable gzip stream: \(message)")
        }
        return output
    }
}
