import Events
import Foundation
import Glibc
import Tracking

/// Reads every segment of a journal folder at start. Damage costs only the damaged record: after a
/// bad record the reader looks for the next good one (magic, length and checksum), counts what it
/// skipped and copies those bytes to `quarantine/` for a person to look at. A segment that ends
/// inside a record was cut short by a crash mid-write: that record never got its 202.
struct JournalReader {
    struct Batch: Equatable {
        var sequence: UInt64
        var source: String
        var body: [UInt8]
        var position: SourcePosition?
        var arrived: Double
    }

    /// The batches to apply, in sequence order, without the discarded ones.
    var batches: [Batch] = []
    /// The highest sequence number any record carries (batches and discards).
    var lastSequence: UInt64 = 0
    /// Damaged stretches skipped (each is one record or more lost), with where their copy went.
    var damaged: [(path: String, offset: Int, bytes: Int, quarantine: String?)] = []
    /// Segments that ended inside a record (a write cut short by a crash or a failed write).
    var truncated: [(path: String, offset: Int)] = []

    static let segmentPrefix = "journal-"
    static let segmentSuffix = ".wal"
    static let quarantineFolder = "quarantine"

    static func segmentPaths(in folder: String) -> [(number: UInt64, path: String)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        return names.compactMap { name -> (UInt64, String)? in
            guard name.hasPrefix(segmentPrefix), name.hasSuffix(segmentSuffix),
                  let n = UInt64(name.dropFirst(segmentPrefix.count).dropLast(segmentSuffix.count)) else { return nil }
            return (n, folder + "/" + name)
        }.sorted { $0.0 < $1.0 }
    }

    static func segmentPath(folder: String, number: UInt64) -> String {
        folder + "/" + segmentPrefix + "\(number)" + segmentSuffix
    }

    init(folder: String) {
        var discarded: [ClosedRange<UInt64>] = []
        var all: [Batch] = []
        for (_, path) in Self.segmentPaths(in: folder) {
            guard let data = FileManager.default.contents(atPath: path) else { continue }
            let bytes = [UInt8](data)
            var offset = 0
            while offset < bytes.count {
                switch JournalRecord.read(bytes, at: offset) {
                case .record(let record, let size):
                    switch record {
                    case .batch(let sequence, let arrived, let source, let body, let position):
                        all.append(Batch(sequence: sequence, source: source, body: body, position: position, arrived: arrived))
                    case .discard(_, let first, let last): discarded.append(first...last)
                    }
                    lastSequence = max(lastSequence, record.sequence)
                    offset += size
                case .truncated, .damaged:
                    guard let next = Self.nextRecord(in: bytes, after: offset) else {
                        if case .truncated = JournalRecord.read(bytes, at: offset) {
                            truncated.append((path, offset))
                        } else {
                            damaged.append((path, offset, bytes.count - offset, Self.quarantine(bytes[offset...], folder: folder, path: path, offset: offset)))
                        }
                        offset = bytes.count
                        continue
                    }
                    damaged.append((path, offset, next - offset, Self.quarantine(bytes[offset..<next], folder: folder, path: path, offset: offset)))
                    offset = next
                }
            }
        }
        batches = all.filter { batch in !discarded.contains { $0.contains(batch.sequence) } }.sorted { $0.sequence < $1.sequence }
    }

    /// The offset of the next good record after `offset`, if any.
    private static func nextRecord(in bytes: [UInt8], after offset: Int) -> Int? {
        var candidate = offset + 1
        while candidate < bytes.count {
            guard let found = bytes[candidate...].firstIndex(of: JournalRecord.magic[0]) else { return nil }
            if case .record = JournalRecord.read(bytes, at: found) { return found }
            candidate = found + 1
        }
        return nil
    }

    /// Keeps a copy of damaged bytes (`quarantine/journal-N.wal.at-OFFSET`); nil when it cannot.
    private static func quarantine(_ bytes: ArraySlice<UInt8>, folder: String, path: String, offset: Int) -> String? {
        let directory = folder + "/" + quarantineFolder
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let copy = directory + "/" + (path.split(separator: "/").last.map(String.init) ?? "journal") + ".at-\(offset)"
        return FileManager.default.createFile(atPath: copy, contents: Data(bytes)) ? copy : nil
    }
}
