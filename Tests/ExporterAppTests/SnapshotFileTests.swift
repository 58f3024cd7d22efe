import Foundation
import Testing
@testable import ExporterApp

/// The snapshot file's framing: magic, version, checksum; every damage is refused with a reason.
@Suite struct SnapshotFileTests {
    let file = SnapshotFile(sequence: 42, takenAt: 1_800_000_000.5, store: Array(repeating: 7, count: 300), alerts: [1, 2, 3])

    @Test func roundTrips() throws {
        #expect(try SnapshotFile.decode(file.encoded()) == file)
    }

    @Test func refusesWhatIsNotASnapshot() {
        #expect(throws: SnapshotFile.Invalid.self) { try SnapshotFile.decode(Array("hello".utf8)) }
        #expect(throws: SnapshotFile.Invalid.self) { try SnapshotFile.decode([]) }
    }

    @Test func refusesEveryTruncation() {
        let bytes = file.encoded()
        for length in stride(from: 0, to: bytes.count, by: 7) {
            #expect(throws: SnapshotFile.Invalid.self) { try SnapshotFile.decode(Array(bytes.prefix(length))) }
        }
    }

    @Test func refusesAnyChangedByte() {
        let bytes = file.encoded()
        for index in stride(from: SnapshotFile.magic.count, to: bytes.count, by: 5) {
            var damaged = bytes
            damaged[index] ^= 0x01
            #expect(throws: SnapshotFile.Invalid.self) { try SnapshotFile.decode(damaged) }
        }
    }

    @Test func refusesAFutureFormatSayingSo() {
        var bytes = file.encoded()
        bytes[SnapshotFile.magic.count] = UInt8(SnapshotFile.formatVersion + 1)
        do {
            _ = try SnapshotFile.decode(bytes)
            Issue.record("a future format was read")
        } catch {
            #expect(error.description.contains("newer exporter"))
        }
    }

    @Test func writesAtomicallyAndKeepsThePreviousOne() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("snap-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var older = file
        older.sequence = 41
        try SnapshotFile.write(older.encoded(), folder: folder)
        try SnapshotFile.write(file.encoded(), folder: folder)
        #expect(SnapshotFile.newest(in: folder) { _, _ in }?.sequence == 42)
        // The current one damaged: the previous one is used, and the refusal is reported.
        try Data("garbage".utf8).write(to: URL(fileURLWithPath: folder + "/state.snap"))
        var refused: [String] = []
        #expect(SnapshotFile.newest(in: folder) { path, _ in refused.append(path) }?.sequence == 41)
        #expect(refused == [folder + "/state.snap"])
        #expect(!FileManager.default.fileExists(atPath: folder + "/.state.snap.tmp"))
    }
}
