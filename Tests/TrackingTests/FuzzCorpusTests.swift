import Events
import Exposition
import Foundation
import Testing
@testable import Tracking

/// The fuzzers' committed seeds (Fuzz/corpus), replayed through the decoders and the store in the
/// normal test run: what `scripts/fuzz.sh` starts from must keep passing its checks without the
/// sanitizer build, and a few seeds pin down what hostile values become.
@Suite struct FuzzCorpusTests {
    static let corpus = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz/corpus")

    static func seeds(_ target: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: corpus.appendingPathComponent(target).path)) ?? []
        return names.sorted()
    }

    static func bytes(_ target: String, _ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: corpus.appendingPathComponent(target).appendingPathComponent(name)))
    }

    /// What the fuzz targets check after each input: both exposition formats render, the JSON API
    /// encodes, and a snapshot restores to the same summaries.
    static func readBack(_ store: ProgressStore) throws {
        for format in [ExpositionFormat.prometheusText, .openMetrics] {
            var writer = ExpositionWriter(format: format)
            StoreExposition(store).collect(into: &writer)
            #expect(!writer.finish().isEmpty)
        }
        let encoder = JSONEncoder()
        _ = try encoder.encode(store.jobSummaries())
        let copy = ProgressStore(clock: ManualClock())
        try copy.restore(from: store.snapshot().bytes)
        #expect(copy.jobSummaries() == store.jobSummaries())
    }

    @Test func thereAreSeeds() {
        #expect(Self.seeds("native").count >= 20)
        #expect(Self.seeds("prodigy").count >= 10)
        #expect(Self.seeds("snapshot").count >= 3)
    }

    @Test(arguments: seeds("native"))
    func nativeSeed(_ name: String) throws {
        let store = ProgressStore(clock: ManualClock())
        var events: [Event] = []
        NativeEventDecoder().decodeBody(try Self.bytes("native", name), onEvent: { events.append($0) }, onReject: { _, _ in })
        store.apply(events, source: "fuzz")
        try Self.readBack(store)
    }

    @Test(arguments: seeds("prodigy"))
    func prodigySeed(_ name: String) throws {
        let store = ProgressStore(clock: ManualClock())
        let decoder = ProdigyEventDecoder()
        var events: [Event] = []
        for line in try Self.bytes("prodigy", name).split(separator: UInt8(ascii: "\n")) {
            if case .event(let event) = decoder.decode(line: Array(line), job: "repo/run") { events.append(event) }
        }
        store.apply(events, source: "fuzz")
        try Self.readBack(store)
    }

    /// `UPDATE_FUZZ_SEEDS=1 swift test --filter FuzzCorpusTests`: rewrites the real-snapshot seeds
    /// from the native seeds after the snapshot encoding changed (then review and commit them).
    @Test func realSnapshotSeedsAreCurrent() throws {
        guard ProcessInfo.processInfo.environment["UPDATE_FUZZ_SEEDS"] == "1" else { return }
        let folder = Self.corpus.appendingPathComponent("snapshot")
        for name in Self.seeds("snapshot") where name.hasPrefix("real-") {
            try FileManager.default.removeItem(at: folder.appendingPathComponent(name))
        }
        for name in Self.seeds("native").prefix(8) {
            let store = ProgressStore(clock: ManualClock())
            var events: [Event] = []
            NativeEventDecoder().decodeBody(try Self.bytes("native", name), onEvent: { events.append($0) }, onReject: { _, _ in })
            store.apply(events, source: "fuzz")
            try Data(store.snapshot().bytes).write(to: folder.appendingPathComponent("real-snapshot-\(name)"))
        }
    }

    @Test(arguments: seeds("snapshot"))
    func snapshotSeed(_ name: String) throws {
        let store = ProgressStore(clock: ManualClock())
        let bytes = try Self.bytes("snapshot", name)
        if name.hasPrefix("real-") {
            try store.restore(from: bytes)
            try Self.readBack(store)
        } else {
            #expect(throws: BinaryReadError.self) { try store.restore(from: bytes) }
        }
    }

    @Test func countsAtInt64MaxSaturate() throws {
        var events: [Event] = []
        var rejected = 0
        var reasons: [String] = []
        NativeEventDecoder().decodeBody(try Self.bytes("native", "near-int64-max"), onEvent: { events.append($0) }, onReject: { _, error in
            rejected += 1
            reasons.append(error.detail)
        })
        // Only the duration of 1.8e308 s is refused (no item runs over a year; it made sums +Inf).
        #expect(rejected == 1)
        #expect(reasons.first?.hasPrefix("duration_seconds: more than a year") == true)
        let store = ProgressStore(clock: ManualClock())
        store.apply(events, source: "fuzz")
        let job = try #require(store.jobSummaries().first)
        #expect(job.planned == .max)
        #expect(job.retries == 1)
    }

    @Test func nestingPastTheLimitRejectsOnlyThatSeed() throws {
        func rejections(_ name: String) throws -> [EventDecodeError] {
            var errors: [EventDecodeError] = []
            NativeEventDecoder().decodeBody(try Self.bytes("native", name), onEvent: { _ in }, onReject: { errors.append($1) })
            return errors
        }
        #expect(try rejections("deep-array-64").isEmpty)
        #expect(try rejections("deep-array-65").map(\.reason) == [.invalidJSON])
    }
}
