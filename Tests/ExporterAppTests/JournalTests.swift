import Foundation
import Exposition
import Glibc
import Synchronization
import Testing
import Tracking
@testable import ExporterApp

/// The write-ahead journal's framing, reader and writer, with failures injected where a real disk
/// cannot be told to fail on cue (an fsync error).
@Suite struct JournalTests {
    private func folder() throws -> String {
        let path = NSTemporaryDirectory() + "journal-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    private func body(_ i: Int) -> [UInt8] {
        Array(#"{"type":"item_completed","job":"j","agent":"a","item":"i\#(i)"}"#.utf8)
    }

    private func segment(_ folder: String) throws -> (path: String, bytes: [UInt8]) {
        let path = try #require(JournalReader.segmentPaths(in: folder).last?.path)
        return (path, [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))))
    }

    @Test func aRecordRoundTripsAndEveryCutIsTruncatedNotARecord() throws {
        let record = JournalRecord.batch(sequence: 7, arrived: 1_800_000_000.25, source: "http", body: body(1))
        let bytes = record.encoded()
        guard case .record(let read, let size) = JournalRecord.read(bytes, at: 0) else { Issue.record("not read"); return }
        #expect(read == record && size == bytes.count)
        for length in 1..<bytes.count {
            guard case .truncated = JournalRecord.read(Array(bytes[..<length]), at: 0) else {
                Issue.record("a record cut at \(length) bytes was not seen as cut"); continue
            }
        }
        let discard = JournalRecord.discard(sequence: 9, first: 3, last: 5)
        guard case .record(let readDiscard, _) = JournalRecord.read(discard.encoded(), at: 0) else { Issue.record("discard not read"); return }
        #expect(readDiscard == discard)
    }

    @Test func commitsAreAppliedInOrderWithTheirPositionAndReadBack() throws {
        let folder = try folder()
        let journal = try Journal(folder: folder, after: 0)
        let applied = Mutex<[UInt64]>([])
        DispatchQueue.concurrentPerform(iterations: 200) { i in
            _ = try? journal.commit(source: "http", body: body(i), arrived: 1_800_000_000) { position in
                applied.withLock { $0.append(UInt64(position.offset)) }
            }
        }
        // Applied in journal order, each number once: the store's position never goes back.
        #expect(applied.withLock { $0 } == Array(1...200))
        let read = JournalReader(folder: folder)
        #expect(read.batches.map(\.sequence) == Array(1...200))
        #expect(read.damaged.isEmpty && read.truncated.isEmpty)
        #expect(read.lastSequence == 200)
    }

    @Test func aFlippedByteCostsOnlyItsRecordWhichIsCountedAndQuarantined() throws {
        let folder = try folder()
        let journal = try Journal(folder: folder, after: 0)
        for i in 1...1000 { _ = try journal.commit(source: "http", body: body(i), arrived: 1_800_000_000) { _ in () } }
        var (path, bytes) = try segment(folder)
        let middle = bytes.count / 2
        bytes[middle] ^= 0x01
        try Data(bytes).write(to: URL(fileURLWithPath: path))

        let read = JournalReader(folder: folder)
        #expect(read.batches.count == 999)
        #expect(read.damaged.count == 1)
        let quarantine = try #require(read.damaged.first?.quarantine)
        #expect(FileManager.default.fileExists(atPath: quarantine))
        // A reopened journal continues after the highest number, and counts the damage.
        let reopened = try Journal(folder: folder, after: read.lastSequence, found: read)
        var w = ExpositionWriter(format: .prometheusText)
        reopened.collect(into: &w)
        #expect(String(decoding: w.finish(), as: UTF8.self).contains("progress_exporter_storage_journal_damaged_records_total 1"))
    }

    @Test func aTornTailIsNotDamage() throws {
        let folder = try folder()
        let journal = try Journal(folder: folder, after: 0)
        for i in 1...10 { _ = try journal.commit(source: "http", body: body(i), arrived: 1_800_000_000) { _ in () } }
        let (path, bytes) = try segment(folder)
        try Data(bytes.dropLast(5)).write(to: URL(fileURLWithPath: path))
        let read = JournalReader(folder: folder)
        #expect(read.batches.count == 9)
        #expect(read.damaged.isEmpty && read.truncated.count == 1)
    }

    @Test func aFailedFsyncAppliesNothingAndLeavesNothingToReplay() throws {
        let folder = try folder()
        let failing = Mutex(false)
        let journal = try Journal(folder: folder, after: 0) { descriptor in
            if failing.withLock({ $0 }) { errno = EIO; return -1 }
            return fsync(descriptor)
        }
        let applied = Mutex(0)
        for i in 1...5 { _ = try journal.commit(source: "http", body: body(i), arrived: 1_800_000_000) { _ in applied.withLock { $0 += 1 } } }
        failing.withLock { $0 = true }
        #expect(throws: Journal.Failure.self) {
            try journal.commit(source: "http", body: body(6), arrived: 1_800_000_000) { _ in applied.withLock { $0 += 1 } }
        }
        #expect(applied.withLock { $0 } == 5, "a batch that is not durable is not applied")
        failing.withLock { $0 = false }
        _ = try journal.commit(source: "http", body: body(7), arrived: 1_800_000_000) { _ in applied.withLock { $0 += 1 } }
        #expect(applied.withLock { $0 } == 6)
        // The failed batch was cut off the file: a restart applies exactly what was applied.
        let read = JournalReader(folder: folder)
        #expect(read.batches.map(\.sequence) == [1, 2, 3, 4, 5, 7])
        #expect(read.damaged.isEmpty && read.truncated.isEmpty)
    }

    @Test func segmentsStayUntilTheSnapshotBeforeTheNewestIsPastThem() throws {
        let folder = try folder()
        let journal = try Journal(folder: folder, after: 0)
        func segments() -> [UInt64] { JournalReader.segmentPaths(in: folder).map(\.number) }
        _ = try journal.commit(source: "http", body: body(1), arrived: 1_800_000_000) { _ in () }
        let first = journal.rotate()
        journal.snapshotWritten(boundary: first)
        #expect(segments() == [1, 2], "the first snapshot's predecessor may need segment 1")
        _ = try journal.commit(source: "http", body: body(2), arrived: 1_800_000_000) { _ in () }
        let second = journal.rotate()
        journal.snapshotWritten(boundary: second)
        #expect(segments() == [2, 3], "segment 1 is covered by the snapshot before the newest")
        let read = JournalReader(folder: folder)
        #expect(read.batches.map(\.sequence) == [2])
    }
}
