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

    @Test(arguments: [1, 2, 3, 4, 6, 9])
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

    /// `--web.gzip-level` 1...3 are igzip's levels 1...3 (never its level 0, which compresses badly), 4...9 zlib's.
    @Test func levelsMapOntoTheLibraries() {
        #expect((1...9).map { GzipEncoder(level: $0).engine }
            == [.igzip(1), .igzip(2), .igzip(3), .zlib(4), .zlib(5), .zlib(6), .zlib(7), .zlib(8), .zlib(9)])
    }

    /// The levels that go to zlib make an exposition smaller than the fast ones.
    @Test func zlibLevelsCompressAnExpositionMoreThanIgzip() throws {
        let body = Array(Self.exposition.utf8)
        let fast = try GzipEncoder(level: 1).encode(body)
        let small = try GzipEncoder(level: 6).encode(body)
        #expect(try gunzip(small) == body)
        #expect(small.count < fast.count)
    }

    /// Many small pieces and a body that compresses so badly the output buffer must grow several times.
    @Test func smallPiecesAndIncompressibleBodies() throws {
        let random = pseudoRandomBytes(count: 1_000_000)
        let text = Self.inputs[3].1
        for level in [1, 2, 3, 5] {
            #expect(try gunzip(try GzipEncoder(level: level).encode(random)) == random, "level \(level)")
            let encoded = try text.withUnsafeBytes { bytes in
                let pieces = stride(from: 0, to: bytes.count, by: 37).map {
                    UnsafeRawBufferPointer(rebasing: bytes[$0..<min($0 + 37, bytes.count)])
                }
                return try GzipEncoder(level: level).encode(pieces: pieces)
            }
            #expect(try gunzip(encoded) == text, "level \(level)")
        }
    }

    /// A decoder that is neither zlib's C API nor the gzip command: Python's gzip module reads the
    /// encoding back to the same bytes, and so does a second, independent pass of zlib inflate.
    @Test func pythonsGzipModuleDecodesIt() throws {
        let body = Array(Self.exposition.utf8)
        let encoded = try GzipEncoder(level: 1).encode(body)
        let script = "import gzip, sys; sys.stdout.buffer.write(gzip.decompress(sys.stdin.buffer.read()))"
        let decoded = try run("/usr/bin/python3", ["-c", script], input: Data(encoded))
        #expect(decoded.status == 0)
        #expect(Array(decoded.output) == body)
        #expect(encoded.count * 5 < body.count)
    }

    /// An exposition like the exporter's, with label values and numbers that vary line by line.
    static let exposition: String = {
        var text = "# HELP progress_agent_state Agent state.\n# TYPE progress_agent_state gauge\n"
        for agent in 0..<20_000 {
            let state = ["running", "idle", "failed", "done"][agent % 4]
            text += "progress_agent_state{job_name=\"job-\(agent % 10)\",agent=\"agent-\(agent)\",state=\"\(state)\"} \(agent % 3 == 0 ? 1 : 0)\n"
            text += "progress_agent_last_seen_timestamp_seconds{job_name=\"job-\(agent % 10)\",agent=\"agent-\(agent)\"} 1764300000.\(agent % 1000)\n"
        }
        return text + "# EOF\n"
    }()

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

/// zlib's inflate over a gzip body: one member or several in a row (RFC 1952, section 2.2), each
/// checked against its CRC and length; throws unless the last one ends exactly at the body's end.
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
            // A member ended and bytes follow: the next member.
            if code == Z_STREAM_END && stream.avail_in > 0 { code = inflateReset(&stream) }
        }
    }
    guard code == Z_STREAM_END, stream.avail_in == 0 else { throw InflateFailure(code: code) }
    return output
}

/// Runs a program with `input` on its standard input; its status and standard output.
func run(_ program: String, _ arguments: [String], input: Data) throws -> (status: Int32, output: Data) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: program)
    process.arguments = arguments
    let stdin = Pipe()
    let stdout = Pipe()
    process.standardInput = stdin
    process.standardOutput = stdout
    try process.run()
    // Write from another thread: the output may be larger than a pipe's buffer.
    let writer = Thread {
        stdin.fileHandleForWriting.write(input)
        try? stdin.fileHandleForWriting.close()
    }
    writer.start()
    let output = stdout.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, output)
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
