import EventSources
import Events
import Foundation
import TestSupport
import Testing
import Tracking
@testable import ExporterApp

/// Every source reaches the store through the Ingestor: one order, sequence numbers, positions, a change feed.
@Suite struct EngineTests {
    static let t0 = 1_800_000_000.0
    static let lines: [String] = [
        #"{"type":"job_started","job":"etl","total_items":10,"ts":1800000000}"#,
        #"{"type":"agent_started","job":"etl","agent":"w1","item":"a","ts":1800000001}"#,
        #"{"type":"agent_progress","job":"etl","agent":"w1","progress":0.5,"ts":1800000002}"#,
        #"{"type":"item_completed","job":"etl","agent":"w1","item":"a","ts":1800000003}"#,
        #"{"type":"item_failed","job":"etl","agent":"w2","item":"b","retryable":true,"ts":1800000004}"#,
        #"{"type":"agent_started","job":"other","agent":"x","item":"z","ts":1800000004}"#,
    ]
    static var body: [UInt8] { Array((lines.joined(separator: "\n") + "\n").utf8) }

    func ingestor() -> (Ingestor, ProgressStore) {
        let store = ProgressStore(clock: ManualClock(Self.t0 + 10))
        return (Ingestor(store: store, limits: DecoderLimits()), store)
    }

    struct State: Equatable {
        var jobs: [JobSummary]
        var agents: [[AgentSummary]]
    }

    func state(_ store: ProgressStore) -> State {
        let jobs = store.jobSummaries()
        return State(jobs: jobs, agents: jobs.map { store.agentSummaries(job: $0.job) ?? [] })
    }

    @Test func theSameEventsGiveTheSameStateFromEverySource() async throws {
        // HTTP: POST /events hands its body to ingestNative.
        let (http, httpStore) = ingestor()
        http.ingestNative(Self.body, source: "http")

        // The demo path: events made in process.
        let (demo, demoStore) = ingestor()
        let decoded = NativeEventDecoder().decodeBodyEvents(Self.body)
        demo.ingestEvents(decoded, source: "demo")

        // A followed file, through the exporter's own line handler.
        let (file, fileStore) = ingestor()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("engine-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("events.jsonl").path
        try Data(Self.body).write(to: URL(fileURLWithPath: path))
        let tailer = FileTailer(patterns: [path], pollInterval: .milliseconds(20), onLines: { lines, origin in
            file.ingestNative(lines, source: origin.source, position: Exporter.position(of: origin))
        }, onOversizedLine: { _, _ in })
        tailer.start()
        defer { tailer.stop() }

        // Standard input, read from a pipe.
        let (stdin, stdinStore) = ingestor()
        var pipe: [Int32] = [0, 0]
        #expect(Glibc.pipe(&pipe) == 0)
        let reader = StandardInputReader(descriptor: pipe[0], onLines: { lines, origin in
            stdin.ingestNative(lines, source: origin.source)
        }, onOversizedLine: { _, _ in }, onEnd: { _ in })
        reader.start()
        Self.body.withUnsafeBytes { _ = write(pipe[1], $0.baseAddress, $0.count) }
        close(pipe[1])
        defer { reader.stop(); close(pipe[0]) }

        // Each applied everything once the last event's job shows up with all its counts.
        let expected = state(httpStore)
        #expect(httpStore.jobSummaries().map(\.job) == ["etl", "other"])
        #expect(await eventually { state(fileStore) == expected })
        #expect(await eventually { state(stdinStore) == expected })
        #expect(state(demoStore) == expected)
    }

    @Test func aBatchSequenceNumberAndItsSourcePositionAreRecordedTogether() {
        let (ingestor, store) = ingestor()
        #expect(store.sequence == 0)
        let first = SourcePosition(source: "file", path: "/var/log/a.jsonl", device: 1, inode: 42, offset: 120)
        let one = ingestor.ingestNative(Array((Self.lines[0] + "\n").utf8), source: "file", position: first)
        #expect(one.sequence == 1)
        #expect(store.sourcePositions().sequence == 1 && store.sourcePositions().positions == [first])
        var second = first
        second.offset = 300
        let two = ingestor.ingestNative(Array((Self.lines[1] + "\n").utf8), source: "file", position: second)
        #expect(two.sequence == 2)
        let read = store.sourcePositions()
        #expect(read.sequence == 2 && read.positions == [second], "one position per file, the newest")
    }

    @Test func theChangeFeedListsWhatChangedSinceASequenceNumber() throws {
        let (ingestor, store) = ingestor()
        ingestor.ingestNative(Self.body, source: "http")
        func changes(since: UInt64) -> FeedPage<JobSummary> { store.jobChanges(after: FeedCursor(since: since), limit: .max) }
        let start = changes(since: 0)
        #expect(start.items.map(\.job).sorted() == ["etl", "other"])
        let mark = start.sequence
        #expect(changes(since: mark).items.isEmpty, "nothing changed since")
        ingestor.ingestNative(Array(#"{"type":"item_completed","job":"etl","agent":"w2","item":"b","ts":1800000005}"#.utf8) + [10], source: "http")
        let next = changes(since: mark)
        #expect(next.sequence == mark + 1)
        #expect(next.items.map(\.job) == ["etl"])
        #expect(next.items.first?.finished == 2)
        let agents = try #require(store.agentChanges(job: "etl", after: FeedCursor(since: mark), limit: .max))
        #expect(agents.items.map(\.agent) == ["w2"], "w1 did not change")
        #expect(store.agentChanges(job: "nope", after: FeedCursor(since: 0), limit: .max) == nil)
    }

    @Test func theDemoPathHonoursTheShardFilter() throws {
        let store = ProgressStore(clock: ManualClock(Self.t0 + 10))
        let shard = try ShardFilter(index: 0, count: 2)
        let ingestor = Ingestor(store: store, limits: DecoderLimits(), shard: shard)
        let events = ["a", "b", "c", "d", "e", "f"].map { Event(kind: .jobStarted, job: $0, time: Self.t0) }
        let outcome = ingestor.ingestEvents(events, source: "demo")
        let owned = events.filter { shard.owns(job: $0.job) }.map(\.job)
        #expect(owned.count < events.count && !owned.isEmpty)
        #expect(store.jobSummaries().map(\.job) == owned)
        #expect(outcome.ignored == events.count - owned.count)
    }
}

extension NativeEventDecoder {
    func decodeBodyEvents(_ body: [UInt8]) -> [Event] {
        var events: [Event] = []
        decodeBody(body, onEvent: { events.append($0) }, onReject: { _, _ in })
        return events
    }
}
