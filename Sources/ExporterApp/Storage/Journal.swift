import Exposition
import Foundation
import Glibc
import Synchronization
import Tracking

/// `--storage.journal`: POSTed bodies appended to a log and fsynced before their 202, so a crash
/// loses no acknowledged event. Each record holds the batch's sequence number, its source and its
/// body; at start the records after the restored snapshot's sequence number are applied again, in
/// order. Segments (`journal-<n>.log`) are started at each snapshot and deleted once a snapshot
/// covers them, so the journal holds about one snapshot interval.
///
/// Record: u32 length of what follows the checksum, u32 CRC-32 of it, u64 sequence, string source, blob body.
///
/// Group commit: writers append under one lock (to the page cache, fast), then wait for an fsync
/// that covers their record; one fsync serves every record written before it started.
final class Journal: Sendable, SelfMetricsCollector {
    let folder: String
    private let counts = Mutex<(records: UInt64, failures: UInt64, fsyncs: UInt64)>((0, 0, 0))
    private struct Segment {
        var descriptor: Int32
        var number: UInt64
        var path: String
    }
    private struct State {
        var segment: Segment
        /// Records written, and records known to be on disk.
        var written: UInt64 = 0
        var closed: [String] = []
    }
    private let state: Mutex<State>
    private let synced = Mutex<UInt64>(0)
    private let syncing = Mutex(())

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static func segmentPaths(in folder: String) -> [(number: UInt64, path: String)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        return names.compactMap { name -> (UInt64, String)? in
            guard name.hasPrefix("journal-"), name.hasSuffix(".log"),
                  let n = UInt64(name.dropFirst("journal-".count).dropLast(".log".count)) else { return nil }
            return (n, folder + "/" + name)
        }.sorted { $0.0 < $1.0 }
    }

    init(folder: String) throws {
        self.folder = folder
        let next = (Self.segmentPaths(in: folder).last?.number ?? 0) + 1
        let segment = try Self.open(folder: folder, number: next)
        state = Mutex(State(segment: segment, closed: Self.segmentPaths(in: folder).map(\.path).filter { $0 != segment.path }))
    }

    private static func open(folder: String, number: UInt64) throws(Failure) -> Segment {
        let path = folder + "/journal-\(number).log"
        let descriptor = Glibc.open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw Failure(description: "cannot open \(path): \(String(cString: strerror(errno)))") }
        return Segment(descriptor: descriptor, number: number, path: path)
    }

    /// Appends one applied batch and returns once it is on disk.
    func append(sequence: UInt64, source: String, body: [UInt8]) throws(Failure) {
        var payload = BinaryWriter(reserving: body.count + source.utf8.count + 32)
        payload.u64(sequence)
        payload.string(source)
        payload.raw(body)
        var record = BinaryWriter(reserving: payload.bytes.count + 8)
        record.u32(UInt32(payload.bytes.count))
        record.u32(SnapshotFile.crc32(payload.bytes))
        let bytes = record.bytes + payload.bytes
        do {
            let ticket: UInt64 = try state.withLock { (state: inout State) throws(Failure) -> UInt64 in
                try Self.writeAll(bytes, to: state.segment.descriptor, path: state.segment.path)
                state.written += 1
                return state.written
            }
            try sync(through: ticket)
            counts.withLock { $0.records += 1 }
        } catch {
            counts.withLock { $0.failures += 1 }
            throw error
        }
    }

    /// One fsync for every record written before it began.
    private func sync(through ticket: UInt64) throws(Failure) {
        try syncing.withLock { (_: inout ()) throws(Failure) in
            if synced.withLock({ $0 }) >= ticket { return }
            let (descriptor, written, path) = state.withLock { ($0.segment.descriptor, $0.written, $0.segment.path) }
            guard fsync(descriptor) == 0 else { throw Failure(description: "cannot fsync \(path): \(String(cString: strerror(errno)))") }
            counts.withLock { $0.fsyncs += 1 }
            synced.withLock { $0 = max($0, written) }
        }
    }

    private static func writeAll(_ bytes: [UInt8], to descriptor: Int32, path: String) throws(Failure) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress! + offset, bytes.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                throw Failure(description: "cannot write \(path): \(String(cString: strerror(errno)))")
            }
            offset += n
        }
    }

    /// Starts a new segment before a snapshot is captured; returns the segments that snapshot will cover.
    func rotate() -> [String] {
        // Under the sync lock too, so no fsync is in flight on the segment being closed.
        syncing.withLock { _ in state.withLock { state in
            guard let next = try? Self.open(folder: folder, number: state.segment.number + 1) else { return [] }
            fsync(state.segment.descriptor)
            Glibc.close(state.segment.descriptor)
            state.closed.append(state.segment.path)
            state.segment = next
            let covered = state.closed
            state.closed = []
            synced.withLock { $0 = state.written }
            return covered
        } }
    }

    /// Deletes segments a written snapshot covers.
    func delete(_ paths: [String]) {
        for path in paths { unlink(path) }
    }

    /// Keeps segments whose snapshot could not be written, for the next one to cover.
    func keep(_ paths: [String]) {
        state.withLock { $0.closed = paths + $0.closed }
    }

    static let records = MetricFamily("progress_exporter_storage_journal_records_total", .counter, help: "POST bodies made durable in the journal before their 202.")
    static let failures = MetricFamily("progress_exporter_storage_journal_failures_total", .counter, help: "POST bodies applied but not made durable (answered 503: retry them).")
    static let fsyncs = MetricFamily("progress_exporter_storage_journal_fsyncs_total", .counter, help: "fsyncs of the journal; fewer than records when concurrent POSTs share one (group commit).")

    func collect(into w: inout ExpositionWriter) {
        let c = counts.withLock { $0 }
        for (family, value) in [(Self.records, c.records), (Self.failures, c.failures), (Self.fsyncs, c.fsyncs)] {
            w.family(family)
            w.sample(family, .empty, .empty, Double(value))
        }
    }

    /// Records after `sequence` in every segment of the folder, in sequence order. A torn last
    /// record (a crash mid-write) ends its segment; it never got its 202.
    static func records(in folder: String, after sequence: UInt64, problem: (String) -> Void) -> [(sequence: UInt64, source: String, body: [UInt8])] {
        var out: [(UInt64, String, [UInt8])] = []
        for (_, path) in segmentPaths(in: folder) {
            guard let data = FileManager.default.contents(atPath: path) else { continue }
            let bytes = [UInt8](data)
            var r = BinaryReader(bytes)
            while r.remaining > 0 {
                do {
                    let length = Int(try r.u32())
                    let checksum = try r.u32()
                    guard length <= r.remaining else { throw BinaryReadError("torn record") }
                    let start = r.position
                    let payload = Array(bytes[start..<start + length])
                    guard SnapshotFile.crc32(payload) == checksum else { throw BinaryReadError("checksum mismatch") }
                    var p = BinaryReader(payload)
                    let seq = try p.u64()
                    let source = try p.string()
                    let body = try p.raw()
                    try r.skip(length)
                    if seq > sequence { out.append((seq, source, body)) }
                } catch {
                    problem("\(path): \(error); the rest of this segment is ignored")
                    break
                }
            }
        }
        return out.sorted { $0.0 < $1.0 }.map { (sequence: $0.0, source: $0.1, body: $0.2) }
    }
}
