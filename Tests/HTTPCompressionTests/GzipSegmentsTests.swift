import Foundation
import HTTPCompression
import Testing

/// Kept segments: a body encoded with some parts' deflated bytes from an earlier answer must decode,
/// with zlib and with Python's gzip module, to exactly the body.
@Suite struct GzipSegmentsTests {
    final class Owner {}

    /// A body of kept parts (large and small) and fresh parts, as a scrape makes it.
    struct Body {
        let owners = (0..<6).map { _ in Owner() }
        var chunks: [[UInt8]]

        init(seed: Int) {
            chunks = (0..<6).map { index in
                let lines = index.isMultiple(of: 2) ? 2_000 : 3
                return Array((0..<lines).map { "progress_agent_state{job_name=\"job-\(index)\",agent=\"a-\($0)\",state=\"running\"} \(($0 + seed) % 2)\n" }.joined().utf8)
            }
        }

        /// Parts 0, 2, 4 (large) and 1 (small) are kept by key; 3 and 5 are fresh.
        func encode(with segments: GzipSegments) throws -> [UInt8] {
            try withParts { try segments.encode($0) }
        }

        func withParts<R>(_ body: ([GzipSegments.Part]) throws -> R) throws -> R {
            var parts: [GzipSegments.Part] = []
            var buffers: [UnsafeRawBufferPointer] = []
            let pointers = chunks.map { chunk -> UnsafeMutableRawBufferPointer in
                let memory = UnsafeMutableRawBufferPointer.allocate(byteCount: max(chunk.count, 1), alignment: 1)
                memory.copyBytes(from: chunk)
                return memory
            }
            defer { pointers.forEach { $0.deallocate() } }
            for (index, chunk) in chunks.enumerated() {
                let bytes = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(pointers[index])[0..<chunk.count])
                buffers.append(bytes)
                let kept = [0, 1, 2, 4].contains(index)
                parts.append(.init(bytes: bytes, key: kept ? .init(owner: owners[index], start: 0, end: chunk.count) : nil))
            }
            return try body(parts)
        }

        var joined: [UInt8] { chunks.flatMap { $0 } }
    }

    @Test(arguments: [1, 2, 3])
    func keptSegmentsDecodeToTheBody(level: Int) throws {
        let segments = GzipSegments(level: level, minimumKeptBytes: 1024)
        var body = Body(seed: 0)
        let first = try body.encode(with: segments)
        #expect(try gunzip(first) == body.joined)
        #expect(segments.segmentCounts.reused == 0)
        // The fresh parts change; the kept ones (same owners, same bytes) are reused.
        body.chunks[3] = Array("changed line 1\n".utf8)
        body.chunks[5] = Array(String(repeating: "another fresh line\n", count: 500).utf8)
        let second = try body.encode(with: segments)
        #expect(try gunzip(second) == body.joined)
        #expect(segments.segmentCounts.reused == 3, "parts 0, 2 and 4; part 1 is under the minimum")
        let script = "import gzip, sys; sys.stdout.buffer.write(gzip.decompress(sys.stdin.buffer.read()))"
        let decoded = try run("/usr/bin/python3", ["-c", script], input: Data(second))
        #expect(decoded.status == 0)
        #expect(Array(decoded.output) == body.joined)
        // Kept segments cost little: within 10 % of one stream over the whole body.
        let whole = try GzipEncoder(level: level).encode(body.joined)
        #expect(Double(second.count) < Double(whole.count) * 1.1)
    }

    @Test func aPartNoLongerUsedIsNotKept() throws {
        let segments = GzipSegments(level: 1, minimumKeptBytes: 1024)
        var body = Body(seed: 0)
        _ = try body.encode(with: segments)
        // New owners for every part: nothing of the first answer may be reused.
        body = Body(seed: 1)
        let encoded = try body.encode(with: segments)
        #expect(try gunzip(encoded) == body.joined)
        #expect(segments.segmentCounts.reused == 0)
    }

    @Test func emptyAndTinyBodies() throws {
        let segments = GzipSegments(level: 1)
        #expect(try gunzip(try segments.encode([])) == [])
        let one: [UInt8] = [65]
        let encoded = try one.withUnsafeBytes { try segments.encode([.init(bytes: $0, key: nil)]) }
        #expect(try gunzip(encoded) == one)
    }
}
