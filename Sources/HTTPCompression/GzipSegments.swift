import CISAL
import Synchronization

/// A gzip body whose unchanged parts are compressed once and kept from one answer to the next.
///
/// A deflate stream may be a run of segments, each compressed from a fresh state and ended with a
/// sync flush (an empty stored block, so it ends on a byte boundary and refers to nothing before
/// it), closed by one empty final block. So the deflated bytes of a part of the body that has not
/// changed since the previous scrape (a job without events: `GzipPart.key` names it) are kept and
/// sent again; only the rest is compressed each time. The gzip trailer's CRC-32 is computed over the
/// whole body every time (a few GB/s), so it never depends on what was kept.
///
/// Kept segments cost some compression (each starts without the history of what precedes it), so
/// only parts of at least `minimumKeptBytes` are kept; smaller ones are compressed together with
/// their neighbours. igzip levels (1-3) only.
public final class GzipSegments: Sendable {
    /// One part of the body, in order. `key` names bytes that never change while `owner` lives
    /// (the same key means the same bytes); nil for bytes written for this answer only.
    public struct Part {
        public let bytes: UnsafeRawBufferPointer
        public let key: Key?

        public init(bytes: UnsafeRawBufferPointer, key: Key?) {
            self.bytes = bytes
            self.key = key
        }
    }

    /// A range of an immutable buffer; `owner` keeps it (and so its identity) alive while kept.
    public struct Key: Hashable, @unchecked Sendable {
        // @unchecked: `owner` is only held, never read or called; its identity is the key.
        let owner: AnyObject
        let start: Int
        let end: Int

        public init(owner: AnyObject, start: Int, end: Int) {
            self.owner = owner
            self.start = start
            self.end = end
        }

        public static func == (a: Key, b: Key) -> Bool { a.owner === b.owner && a.start == b.start && a.end == b.end }

        public func hash(into hasher: inout Hasher) {
            hasher.combine(ObjectIdentifier(owner))
            hasher.combine(start)
            hasher.combine(end)
        }
    }

    public let level: Int32
    public let minimumKeptBytes: Int
    /// Deflated segments of the previous answer's kept parts; an answer keeps only what it used.
    private let kept = Mutex<[Key: [UInt8]]>([:])
    private let counts = Mutex<(reused: UInt64, compressed: UInt64)>((0, 0))

    public init(level: Int, minimumKeptBytes: Int = 4096) {
        precondition((1...3).contains(level), "kept segments are for igzip's levels 1-3")
        self.level = Int32(level)
        self.minimumKeptBytes = minimumKeptBytes
    }

    /// Kept parts reused and parts (or runs of parts) compressed, over all answers so far.
    public var segmentCounts: (reused: UInt64, compressed: UInt64) { counts.withLock { $0 } }

    /// The gzip encoding of the parts joined.
    public func encode(_ parts: [Part]) throws(GzipError) -> [UInt8] {
        let total = parts.reduce(0) { $0 + $1.bytes.count }
        guard total < Int(UInt32.max / 2) else { throw .inputTooLarge(total) }
        let previous = kept.withLock { $0 }
        var next: [Key: [UInt8]] = [:]
        var reused: UInt64 = 0, compressed: UInt64 = 0
        var output: [UInt8] = []
        output.reserveCapacity(max(total / 16, 64))
        // RFC 1952 header: magic, deflate, no flags, no time, no extra flags, unknown OS.
        output.append(contentsOf: [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255])
        var crc: UInt32 = 0
        var run: [UnsafeRawBufferPointer] = []
        func flushRun() throws(GzipError) {
            guard !run.isEmpty else { return }
            try Self.deflateSegment(run, level: level, into: &output)
            compressed += 1
            run.removeAll(keepingCapacity: true)
        }
        for part in parts where !part.bytes.isEmpty {
            crc = crc32_gzip_refl(crc, part.bytes.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt64(part.bytes.count))
            guard let key = part.key, part.bytes.count >= minimumKeptBytes else {
                run.append(part.bytes)
                continue
            }
            try flushRun()
            if let segment = next[key] ?? previous[key] {
                output.append(contentsOf: segment)
                next[key] = segment
                reused += 1
            } else {
                var segment: [UInt8] = []
                try Self.deflateSegment([part.bytes], level: level, into: &segment)
                output.append(contentsOf: segment)
                next[key] = segment
                compressed += 1
            }
        }
        try flushRun()
        // The final block: fixed Huffman codes, nothing but its end-of-block code.
        output.append(contentsOf: [0x03, 0x00])
        for value in [crc, UInt32(truncatingIfNeeded: total)] {
            for shift in stride(from: 0, to: 32, by: 8) { output.append(UInt8(truncatingIfNeeded: value >> UInt32(shift))) }
        }
        kept.withLock { $0 = next }
        counts.withLock { $0.reused += reused; $0.compressed += compressed }
        return output
    }

    /// Raw deflate of the pieces joined, from a fresh state, ended by a sync flush; appended to `output`.
    static func deflateSegment(_ pieces: [UnsafeRawBufferPointer], level: Int32, into output: inout [UInt8]) throws(GzipError) {
        try GzipEncoder.withIgzipStream(level: level, gzipFlag: IGZIP_DEFLATE) { stream throws(GzipError) in
            stream.end_of_stream = 0
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            for (index, piece) in pieces.enumerated() {
                // The last piece ends with a sync flush: everything out, ending on a byte boundary.
                stream.flush = UInt16(index == pieces.count - 1 ? SYNC_FLUSH : NO_FLUSH)
                // igzip never writes through next_in; its header just lacks the const.
                stream.next_in = UnsafeMutablePointer(mutating: piece.baseAddress?.assumingMemoryBound(to: UInt8.self))
                stream.avail_in = UInt32(piece.count)
                repeat {
                    let written = try chunk.withUnsafeMutableBufferPointer { out throws(GzipError) -> Int in
                        stream.next_out = out.baseAddress
                        stream.avail_out = UInt32(out.count)
                        let code = isal_deflate(&stream)
                        guard code == COMP_OK else { throw .igzip(function: "isal_deflate", code: code) }
                        return out.count - Int(stream.avail_out)
                    }
                    output.append(contentsOf: chunk[0..<written])
                    // Done with this piece when its input is read and igzip had room left (nothing pending).
                    if stream.avail_in == 0 && stream.avail_out != 0 { break }
                } while true
            }
        }
    }
}
