import Clocks
import Events
import Foundation
import Exposition
import Tracking

/// A clock that never moves, so a crashing input replays the same way.
public struct FixedClock: TimeSource {
    public let time: Double
    public init(_ time: Double = 1_800_000_000) { self.time = time }
    public func now() -> Double { time }
}

/// The bytes libFuzzer hands over, as an array.
public func fuzzBytes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
    guard let data, size > 0 else { return [] }
    return Array(UnsafeBufferPointer(start: data, count: size))
}

/// Everything a reader can ask of the store: /metrics in both formats and the JSON API's summaries,
/// encoded as the API encodes them (an encoding error there would be a 500 for every client).
public func readEverything(_ store: ProgressStore) {
    for format in [ExpositionFormat.prometheusText, .openMetrics] {
        var writer = ExpositionWriter(format: format)
        StoreExposition(store).collect(into: &writer)
        let bytes = writer.finish()
        precondition(!bytes.isEmpty, "empty exposition")
    }
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    let jobs = store.jobSummaries()
    do {
        _ = try encoder.encode(jobs)
        for job in jobs {
            guard let agents = store.agentSummaries(job: job.job) else { fatalError("job \(job.job) listed but unknown") }
            _ = try encoder.encode(agents)
        }
    } catch {
        fatalError("the JSON API could not encode the store: \(error)")
    }
}

/// A snapshot of the store must restore into a fresh store and read the same.
public func checkSnapshotRoundTrip(_ store: ProgressStore, options: StoreOptions, clock: FixedClock) {
    let (_, bytes) = store.snapshot()
    let copy = ProgressStore(options: options, clock: clock)
    do {
        try Ingestor(store: copy, limits: DecoderLimits()).restore(from: bytes)
    } catch {
        fatalError("a snapshot of the store does not restore: \(error)")
    }
    precondition(copy.jobSummaries() == store.jobSummaries(), "restored store differs")
}

private let snapshotFolder = ProcessInfo.processInfo.environment["FUZZ_SNAPSHOT_OUT"]

/// With FUZZ_SNAPSHOT_OUT set to a folder, each input's snapshot is written there (named by its
/// size and hash), to seed the snapshot target with real snapshots.
public func dumpSnapshotIfAsked(_ store: ProgressStore) {
    guard let folder = snapshotFolder else { return }
    let bytes = store.snapshot().bytes
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
    let path = "\(folder)/snapshot-\(bytes.count)-\(String(hash, radix: 16))"
    _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
}

/// Store limits small enough for a fuzz input of a few events to reach them: agent sampling,
/// untracked agents and jobs, the de-duplication capacity, and the RE2 patterns of --agents.keep
/// and --agents.job-max-series.
public func smallLimits() -> StoreOptions {
    var options = StoreOptions()
    options.maxAgentSeries = 3
    options.maxTrackedAgents = 12
    options.maxTrackedJobs = 4
    options.maxDedupIds = 3
    options.alwaysKeepAgents = [try! IDPattern("a.*")]
    options.jobMaxAgentSeries = [(jobs: try! IDPattern("j|etl"), limit: 2)]
    return options
}
