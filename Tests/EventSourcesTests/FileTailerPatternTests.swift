import EventSources
import Foundation
import TestSupport
import Testing

@Suite("File tailer: patterns and readiness", .timeLimit(.minutes(1)))
struct FileTailerPatternTests {
    @Test("a glob picks up a file created later; rotated names it does not match are never read")
    func globPicksUpNewFile() async throws {
        let folder = try TemporaryFolder()
        let pattern = folder.path + "/*.jsonl"
        let collector = Collector()
        let tailer = FileTailer.fast([pattern], collector: collector)
        tailer.start()
        defer { tailer.stop() }

        #expect(await eventually { tailer.patternStatuses.first?.problem == "no file matches yet" })
        #expect(!tailer.isReady)

        append("rotated\n", to: folder.file("events.jsonl.1"))
        append("rotated\n", to: folder.file("events.jsonl.gz"))
        append("fresh\n", to: folder.file("events.jsonl"))

        #expect(await eventually { collector.lines == ["fresh"] })
        #expect(await eventually { tailer.isReady })
        await settle(tailer)
        #expect(collector.lines == ["fresh"])
        let status = try #require(tailer.patternStatuses.first)
        #expect(status == PatternStatus(pattern: pattern, matchedFiles: 1, followedFiles: 1, isReady: true, problem: nil))
    }

    @Test("a folder means every *.jsonl below it, at any depth, like prodigy's <repo>/<run id>/events-*.jsonl")
    func folderIsRecursive() async throws {
        let home = try TemporaryFolder()
        let collector = Collector()
        let tailer = FileTailer.fast([home.path], collector: collector)
        tailer.start()
        defer { tailer.stop() }

        let run = try home.makeFolder("my-repo/run-42")
        let path = run + "/events-20250101.jsonl"
        append("{\"event\":1}\n", to: path)
        append("{\"event\":0}\n", to: run + "/events-20241231.jsonl.gz")
        append("not events\n", to: run + "/notes.txt")

        #expect(await eventually { collector.lines == ["{\"event\":1}"] })
        #expect(collector.origins.map(\.path) == [path] && collector.origins.map(\.source) == ["file"])
        await settle(tailer)
        #expect(collector.lines == ["{\"event\":1}"])
        #expect(tailer.isReady)
    }

    @Test("every pattern must have an open file for the tailer to be ready")
    func readinessNeedsEveryPattern() async throws {
        let folder = try TemporaryFolder()
        let present = folder.file("a.jsonl")
        let missing = folder.file("b.jsonl")
        append("x\n", to: present)
        let tailer = FileTailer.fast([present, missing], collector: Collector())
        tailer.start()
        defer { tailer.stop() }

        #expect(await eventually { tailer.patternStatuses.first?.isReady == true })
        #expect(!tailer.isReady)
        #expect(tailer.patternStatuses.last?.problem == "no file matches yet")

        append("y\n", to: missing)
        #expect(await eventually { tailer.isReady })

        // Readiness does not flap while a rotation leaves the path empty.
        try FileManager.default.removeItem(atPath: missing)
        await settle(tailer)
        #expect(tailer.isReady)
    }
}
