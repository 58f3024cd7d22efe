import EventSources
import Foundation
import TestSupport
import Testing

@Suite("File tailer: saved offsets", .timeLimit(.minutes(1)))
struct FileTailerOffsetsTests {
    @Test("a restart resumes after the last delivered line: no duplicates, no loss")
    func resumesAfterRestart() async throws {
        let folder = try TemporaryFolder()
        let path = folder.file("events.jsonl")
        let offsets = folder.file("offsets.json")
        append("one\ntwo\nthr", to: path)

        let first = Collector()
        let before = FileTailer.fast([path], collector: first, offsetsFile: offsets)
        before.start()
        #expect(await eventually { first.lines == ["one", "two"] })
        before.stop()
        #expect(FileManager.default.fileExists(atPath: offsets))

        append("ee\nfour\n", to: path)
        let second = Collector()
        let after = FileTailer.fast([path], collector: second, offsetsFile: offsets)
        after.start()
        defer { after.stop() }
        #expect(await eventually { second.lines == ["three", "four"] })
        await settle(after)
        #expect(second.lines == ["three", "four"])
    }

    @Test("a saved offset is not applied to a different file at the same path")
    func ignoresOffsetOfReplacedFile() async throws {
        let folder = try TemporaryFolder()
        let path = folder.file("events.jsonl")
        let offsets = folder.file("offsets.json")
        append("old one\nold two\n", to: path)

        let first = Collector()
        let before = FileTailer.fast([path], collector: first, offsetsFile: offsets)
        before.start()
        #expect(await eventually { first.lines.count == 2 })
        before.stop()

        try FileManager.default.removeItem(atPath: path)
        append("new one\nnew two\nnew three\n", to: path)
        let second = Collector()
        let after = FileTailer.fast([path], collector: second, offsetsFile: offsets)
        after.start()
        defer { after.stop() }
        #expect(await eventually { second.lines == ["new one", "new two", "new three"] })
    }

    @Test("an unreadable offsets file is counted, and reading starts from the beginning")
    func corruptOffsetsFile() async throws {
        let folder = try TemporaryFolder()
        let path = folder.file("events.jsonl")
        let offsets = folder.file("offsets.json")
        append("one\n", to: path)
        append("not json", to: offsets)

        let collector = Collector()
        let tailer = FileTailer.fast([path], collector: collector, offsetsFile: offsets)
        tailer.start()
        defer { tailer.stop() }
        #expect(await eventually { collector.lines == ["one"] })
        #expect(tailer.stats.offsetFileErrors == 1)
    }
}
