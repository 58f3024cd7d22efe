import EventSources
import Foundation
import TestSupport
import Testing

@Suite("File tailer: reading and following", .timeLimit(.minutes(1)))
struct FileTailerTests {
    @Test("reads existing content from the start, with the file's path as origin")
    func readsFromStart() async throws {
        let folder = try TemporaryFolder()
        let path = folder.file("events.jsonl")
        append("one\ntwo\n", to: path)
        let collector = Collector()
        let tailer = FileTailer.fast([path], collector: collector)
        tailer.start()
        defer { tailer.stop() }

        #expect(await eventually { collector.lines == ["one", "two"] })
        #expect(collector.origins.allSatisfy { $0.source == "file" && $0.path == path })
        // Each batch says where the file stood after it: past its last complete line.
        let position = try #require(collector.origins.last?.position)
        #expect(position.offset == 8 && position.isFile && position.path == path)
        #expect(tailer.stats.linesDelivered == 2)
        #expect(tailer.stats.bytesRead == 8)
    }

    @Test("follows appends")
    func followsAppends() async throws {
        let folder = try TemporaryFolder()
        let path = folder.file("events.jsonl")
        append("one\n", to: path)
        let collector = Collector()
        let tailer = FileTailer.fast([path], collector: collector)
        tailer.start()
        defer { tailer.stop() }

        #expect(await eventually { collector.lines == ["one"] })
        append("two\nthree\n", to: path)
        #expect(await eventually { collector.lines == ["one", "two", "three"] })
    }

    @Test("holds a partial line until its newline arrives")
    func holdsPartialLine() async throws {
        let folder = try TemporaryFolder()
        let path = folder.file("events.jsonl")
        append("one\n{\"type\":", to: path)
        let collector = Collector()
        let tailer = FileTailer.fast([path], collector: collector)
        tailer.start()
        defer { tailer.stop() }

        #expect(await eventually { collector.lines == ["one"] })
        await settle(tailer)
        #expect(collector.lines == ["one"])
        append("\"agent_heartbeat\"}\n", to: path)
        #expect(await eventually { collector.lines == ["one", "{\"type\":\"agent_heartbeat\"}"] })
        #expect(collector.batchesEndInNewline)
    }

    @Test("an oversized line is reported and skipped while its neighbours arrive")
    func skipsOversizedLine() async throws {
        let folder = try TemporaryFolder()
        let path = folder.file("events.jsonl")
        append("before\n" + String(repeating: "x", count: 100) + "\nafter\n", to: path)
        let collector = Collector()
        let tailer = FileTailer.fast([path], collector: collector, maxLineBytes: 32)
        tailer.start()
        defer { tailer.stop() }

        #expect(await eventually { collector.lines == ["before", "after"] })
        #expect(collector.oversizedLengths == [100])
        #expect(tailer.stats.oversizedLines == 1)
    }

    @Test("stop is idempotent, works before start, and returns when called from a handler")
    func stopLifecycle() async throws {
        let folder = try TemporaryFolder()
        let path = folder.file("events.jsonl")
        append("one\n", to: path)

        let neverStarted = FileTailer.fast([path], collector: Collector())
        neverStarted.stop()
        neverStarted.start()
        #expect(neverStarted.stats.filesOpened == 0)

        let collector = Collector()
        let tailer = FileTailer.fast([path], collector: collector)
        tailer.start()
        tailer.start()
        #expect(await eventually { collector.lines == ["one"] })
        tailer.stop()
        tailer.stop()
        // stop() joined the tailer's thread: nothing can read the file any more, no wait needed.
        let cycles = tailer.stats.pollCycles
        append("two\n", to: path)
        #expect(collector.lines == ["one"])
        #expect(tailer.stats.pollCycles == cycles)

        let box = TailerBox()
        let stopsItself = FileTailer(
            patterns: [path], pollInterval: .milliseconds(10),
            onLines: { _, _ in box.tailer?.stop() }, onOversizedLine: { _, _ in }
        )
        box.tailer = stopsItself
        stopsItself.start()
        #expect(await eventually { stopsItself.stats.linesDelivered == 2 })
        stopsItself.stop()
    }
}

/// Lets a handler reach the tailer that calls it.
final class TailerBox: @unchecked Sendable {
    // Set once before the tailer starts and read only on its thread afterwards; weak to avoid a cycle.
    weak var tailer: FileTailer?
}
