import EventSources
import Foundation
import TestSupport
import Testing

@Suite("File tailer: rotation and truncation", .timeLimit(.minutes(1)))
struct FileTailerRotationTests {
    @Test("rename rotation loses no line: the old file is finished before the new one is read")
    func renameRotation() async throws {
        let folder = try TemporaryFolder()
        let path = folder.file("events-1.jsonl")
        append("a\nb\n", to: path)
        let collector = Collector()
        let tailer = FileTailer.fast([folder.path], collector: collector)
        tailer.start()
        defer { tailer.stop() }
        #expect(await eventually { collector.lines == ["a", "b"] })

        // Like prodigy: rename, the writer may still finish on the old descriptor, then the same path again.
        try FileManager.default.moveItem(atPath: path, toPath: path + ".1")
        append("c\n", to: path + ".1")
        append("d\ne\n", to: path)

        #expect(await eventually { collector.lines.count >= 5 })
        await settle(tailer)
        #expect(collector.lines == ["a", "b", "c", "d", "e"])
        #expect(collector.origins.allSatisfy { $0.path == path })
        #expect(tailer.stats.rotations == 1)
    }

    @Test("a rotated name that still matches the pattern is not read again from the start")
    func rotatedNameStillMatching() async throws {
        let folder = try TemporaryFolder()
        let path = folder.file("events.jsonl")
        append("a\n", to: path)
        let collector = Collector()
        let tailer = FileTailer.fast([folder.path + "/*.jsonl"], collector: collector)
        tailer.start()
        defer { tailer.stop() }
        #expect(await eventually { collector.lines == ["a"] })

        try FileManager.default.moveItem(atPath: path, toPath: folder.file("events-old.jsonl"))
        append("b\n", to: path)

        #expect(await eventually { collector.lines.count >= 2 })
        await settle(tailer)
        #expect(collector.lines == ["a", "b"])
    }

    @Test("copytruncate: a file that shrinks is read again from its start")
    func truncation() async throws {
        let folder = try TemporaryFolder()
        let path = folder.file("events.jsonl")
        append("first line\nsecond line\n", to: path)
        let collector = Collector()
        let tailer = FileTailer.fast([path], collector: collector)
        tailer.start()
        defer { tailer.stop() }
        #expect(await eventually { collector.lines.count == 2 })

        #expect(truncate(path, 0) == 0)
        append("third\n", to: path)

        #expect(await eventually { collector.lines == ["first line", "second line", "third"] })
        #expect(tailer.stats.truncations == 1)
    }

    @Test("copytruncate followed by more bytes than before is still noticed, by the file's first bytes")
    func truncationThenGrowth() async throws {
        let folder = try TemporaryFolder()
        let path = folder.file("events.jsonl")
        append("{\"id\":\"1\"}\n", to: path)
        let collector = Collector()
        let tailer = FileTailer.fast([path], collector: collector)
        tailer.start()
        defer { tailer.stop() }
        #expect(await eventually { collector.lines.count == 1 })

        // Rewritten in place in one go, so the tailer never sees it shorter than its offset.
        let replacement = "{\"id\":\"2\"}\n{\"id\":\"3\"}\n"
        let descriptor = open(path, O_WRONLY)
        let bytes = Array(replacement.utf8)
        #expect(pwrite(descriptor, bytes, bytes.count, 0) == bytes.count)
        close(descriptor)

        #expect(await eventually { collector.lines == ["{\"id\":\"1\"}", "{\"id\":\"2\"}", "{\"id\":\"3\"}"] })
        #expect(tailer.stats.truncations == 1)
    }

    @Test("a file that disappears and comes back is read from the start of the new file")
    func disappearsAndComesBack() async throws {
        let folder = try TemporaryFolder()
        let path = folder.file("events.jsonl")
        append("old\n", to: path)
        let collector = Collector()
        let tailer = FileTailer.fast([path], collector: collector)
        tailer.start()
        defer { tailer.stop() }
        #expect(await eventually { collector.lines == ["old"] })

        try FileManager.default.removeItem(atPath: path)
        await settle(tailer)
        append("new\n", to: path)

        #expect(await eventually { collector.lines == ["old", "new"] })
        await settle(tailer)
        #expect(collector.lines == ["old", "new"])
    }
}
