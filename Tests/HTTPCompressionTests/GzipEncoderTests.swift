import CZlib
import Foundation
import HTTPCompression
import Testing

@Suite struct GzipEncoderTests {
    /// Inputs from empty to a few megabytes: text that compresses well, bytes that do not, and every byte value.
    static let inputs: [(String, [UInt8])] = [
        ("empty", []),
        ("one byte", [42]),
        ("every byte value", Array(0...255)),
        ("exposition-like text", Array(String(repeating: "progress_agent_state{job_name=\"etl\",agent=\"w-7\",state=\"running\"} 1\n", count: 50_000).utf8)),
        ("pseudo-random bytes", pseudoRandomBytes(count: 300_000)),
    ]

    @Test(arguments: [1, 6, 9])
    func roundTripsThroughInflate(level: Int) throws {
        let encoder = GzipEncoder(level: level)
        for (name, input) in Self.inputs {
            let encoded = try encoder.encode(input)
            #expect(Array(encoded.prefix(3)) == [0x1f, 0x8b, 0x08], "\(name): a gzip member with deflate")
            #expect(try gunzip(encoded) == input, "\(name)")
        }
    }

    /// A body in pieces of every size, empty ones included, encodes to what the joined body decodes from.
    @Test func piecesEncodeAsTheirJoinedBytes() throws {
        let text = Self.inputs[3].1 + Self.inputs[4].1
        let cuts = [0, 0, 1, 700, 65_536, 65_536, 1_000_000, 2_000_000, text.count]
        let encoded = try text.withUnsafeBytes { bytes in
            let pieces = zip(cuts, cuts.dropFirst()).map { UnsafeRawBufferPointer(rebasing: bytes[$0..<$1]) }
            return try GzipEncoder(level: 1).encode(pieces: pieces)
        }
        #expect(try gunzip(encoded) == text)
        #expect(try gunzip(try GzipEncoder(level: 1).encode(pieces: [])) == [])
    }

    @Test func textShrinksAndHigherLevelsAreNoLarger() throws {
        let text = Self.inputs[3].1
        let fast = try GzipEncoder(level: 1).encode(text)
        let small = try GzipEncoder(level: 9).encode(text)
        #expect(fast.count * 10 < text.count)
        #expect(small.count <= fast.count)
    }

    @Test func gzipCommandDecodesIt() throws {
        let text = Self.inputs[3].1
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/gzip")
        process.arguments = ["-d", "-c"]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        // Write from another thread: the decoded output is larger than a pipe's buffer.
        let encoded = try GzipEncoder(level: 1).encode(text)
        let writer = Thread {
            input.fileHandleForWriting.write(Data(encoded))
            try? input.fileHandleForWriting.close()
        }
        writer.start()
        let decoded = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(Array(decoded) == text)
    }
}

/// zlib's inflate over a whole gzip member; throws unless it ends exactly at the member's end.
func gunzip(_ encoded: [UInt8]) throws -> [UInt8] {
    var stream = z_stream()
    guard pe_inflate_init_gzip(&stream) == Z_OK else { throw InflateFailure(code: Z_STREAM_ERROR) }
    defer { inflateEnd(&stream) }
    var output: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 64 * 1024)
    var code = Z_OK
    var input = encoded
    input.withUnsafeMutableBufferPointer { source in
        stream.next_in = source.baseAddress
        stream.avail_in = uInt(source.count)
        while code == Z_OK {
            chunk.withUnsafeMutableBufferPointer { out in
                stream.next_out = out.baseAddress
                stream.avail_out = uInt(out.count)
                code = inflate(&stream, Z_NO_FLUSH)
                output.append(contentsOf: out.prefix(out.count - Int(stream.avail_out)))
            }
        }
    }
    guard code == Z_STREAM_END, stream.avail_in == 0 else { throw InflateFailure(code: code) }
    return output
}

struct InflateFailure: Error {
    let code: Int32
}

/// A fixed xorshift sequence, so the incompressible input is the same in every run.
func pseudoRandomBytes(count: Int) -> [UInt8] {
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15
    return (0..<count).map { _ in
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return UInt8(truncatingIfNeeded: state)
    }
}
