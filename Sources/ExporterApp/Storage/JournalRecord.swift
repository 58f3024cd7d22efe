import Events
import Tracking

/// One record of the write-ahead journal, framed so a reader can find the next good record after
/// damage:
///
///     magic "\xF7PEJ"  u32 length of the payload  u32 CRC-32 of the payload  payload
///     payload: u8 kind  u64 sequence  then, for a batch (kind 0): f64 arrival time, string source,
///                                      blob body;
///                                      for a discard (1): u64 first, u64 last;
///                                      for a batch with its source's position (2): f64 arrival time,
///                                      string source, blob body, string position name, u64 position sequence
///
/// The magic begins with 0xF7, a byte that never occurs in UTF-8, so an NDJSON body cannot look like
/// a record's start; a false match inside binary garbage still fails the length or checksum test.
/// `sequence` is the journal's own number for the batch (not the store's): the store keeps the last
/// one it applied as the journal's position, saved with every snapshot.
enum JournalRecord: Equatable {
    /// A batch (a POST body, or lines from standard input) made durable before it was applied.
    /// `position`: where a source with sequence numbers of its own (a bus consumer) stood after
    /// it, applied with the batch at a restart so a message delivered again is recognised.
    /// `arrived`: when the batch arrived, so a replay gives events without `ts` that time.
    case batch(sequence: UInt64, arrived: Double, source: String, body: [UInt8], position: SourcePosition? = nil)
    /// Batches `first...last` were written but never made durable (their fsync failed, and the file
    /// could not be cut back): they were answered 503 and must not be applied at a restart.
    case discard(sequence: UInt64, first: UInt64, last: UInt64)

    static let magic: [UInt8] = [0xF7, 0x50, 0x45, 0x4A]
    static let headerSize = 12

    var sequence: UInt64 {
        switch self {
        case .batch(let sequence, _, _, _, _), .discard(let sequence, _, _): sequence
        }
    }

    func encoded() -> [UInt8] {
        var payload = BinaryWriter()
        switch self {
        case .batch(let sequence, let arrived, let source, let body, let position):
            payload = BinaryWriter(reserving: body.count + source.utf8.count + 64)
            payload.u8(position == nil ? 0 : 2)
            payload.u64(sequence)
            payload.double(arrived)
            payload.string(source)
            payload.raw(body)
            if let position {
                payload.string(position.path)
                payload.u64(UInt64(clamping: position.offset))
            }
        case .discard(let sequence, let first, let last):
            payload.u8(1)
            payload.u64(sequence)
            payload.u64(first)
            payload.u64(last)
        }
        var framed = Self.magic
        framed.reserveCapacity(payload.bytes.count + Self.headerSize)
        var header = BinaryWriter(reserving: 8)
        header.u32(UInt32(payload.bytes.count))
        header.u32(SnapshotFile.crc32(payload.bytes))
        framed += header.bytes
        framed += payload.bytes
        return framed
    }

    /// What reading at `offset` found.
    enum Read {
        case record(JournalRecord, size: Int)
        /// The bytes end inside a record's header or before its declared length: a write cut short.
        case truncated
        /// Not a good record here (no magic, wrong checksum, unreadable payload).
        case damaged
    }

    static func read(_ bytes: [UInt8], at offset: Int) -> Read {
        let available = bytes.count - offset
        let magicLength = min(available, magic.count)
        guard bytes[offset..<offset + magicLength].elementsEqual(magic[0..<magicLength]) else { return .damaged }
        guard available >= headerSize else { return .truncated }
        var header = BinaryReader(bytes, from: offset + magic.count)
        guard let length = try? header.u32(), let checksum = try? header.u32() else { return .truncated }
        guard Int(length) <= available - headerSize else { return .truncated }
        let payload = Array(bytes[(offset + headerSize)..<(offset + headerSize + Int(length))])
        guard SnapshotFile.crc32(payload) == checksum, let record = try? decode(payload) else { return .damaged }
        return .record(record, size: headerSize + Int(length))
    }

    private static func decode(_ payload: [UInt8]) throws(BinaryReadError) -> JournalRecord {
        var r = BinaryReader(payload)
        let kind = try r.u8()
        let sequence = try r.u64()
        let record: JournalRecord
        switch kind {
        case 0: record = .batch(sequence: sequence, arrived: try r.double(), source: try r.string(), body: try r.raw())
        case 2:
            let arrived = try r.double(), source = try r.string(), body = try r.raw(), name = try r.string(), through = try r.u64()
            record = .batch(sequence: sequence, arrived: arrived, source: source, body: body, position: .sequence(source: source, name: name, through: through))
        case 1:
            let first = try r.u64(), last = try r.u64()
            guard first <= last else { throw BinaryReadError("discard range \(first)...\(last) is empty") }
            record = .discard(sequence: sequence, first: first, last: last)
        default: throw BinaryReadError("unknown record kind \(kind)")
        }
        guard r.remaining == 0 else { throw BinaryReadError("\(r.remaining) bytes after the record") }
        return record
    }
}
