import Events
import Foundation
import TestSupport
import Testing
import Tracking
@testable import ExporterApp

/// `progress-exporter replay`: a recorded log through the same ingestor and store, on a clock that
/// follows event time, gives what the live run showed at the same event time.
@Suite struct ReplayTests {
    static let start = 1_700_000_000.0

    /// A live run: a simulation whose events arrive at their own time (the manual clock is stepped
    /// to each step's time before its events are applied, as a tracker POSTing as it goes), and the
    /// recorded log of everything it sent.
    struct LiveRun {
        var store: ProgressStore
        var clock: ManualClock
        var log: [UInt8]
    }

    static func liveRun(seconds: Double = 400) -> LiveRun {
        var options = DemoOptions()
        options.jobs = 2
        options.agentsPerJob = 8
        options.itemsPerJob = 600
        options.meanItemSeconds = 2
        options.failureRate = 0.1
        options.seed = 7
        var simulation = Simulation(options: options)
        let clock = ManualClock(start)
        let store = ProgressStore(clock: clock)
        let ingestor = Ingestor(store: store, limits: DecoderLimits())
        var log: [UInt8] = []
        var time = start
        while time <= start + seconds {
            clock.set(time)
            let events = simulation.advance(to: time)
            if !events.isEmpty {
                let body = NativeEventEncoder.ndjson(events)
                log += body
                ingestor.ingestNative(body, source: "http")
            }
            time += 0.25
        }
        return LiveRun(store: store, clock: clock, log: log)
    }

    static func temporaryFolder() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("replay-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    static func gzip(_ bytes: [UInt8]) throws -> [UInt8] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/gzip")
        process.arguments = ["-c"]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        let writer = Thread { input.fileHandleForWriting.write(Data(bytes)); try? input.fileHandleForWriting.close() }
        writer.start()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return [UInt8](data)
    }

    func replay(_ paths: [String], speed: Double = 0) throws -> (ReplayResult, ProgressStore) {
        let clock = ReplayClock()
        let store = ProgressStore(clock: clock)
        let replayer = Replayer(ingestor: Ingestor(store: store, limits: DecoderLimits()), clock: clock, speed: speed)
        replayer.batchLines = 500
        return (try replayer.run(files: paths), store)
    }

    @Test(arguments: [false, true])
    func aReplayGivesTheLiveTotalsAndETCAtTheSameEventTime(gzipped: Bool) throws {
        let live = Self.liveRun()
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        // The name says nothing: gzip is told by its magic bytes.
        let path = folder.appendingPathComponent("events.log").path
        try Data(gzipped ? try Self.gzip(live.log) : live.log).write(to: URL(fileURLWithPath: path))

        let (result, store) = try replay([path])
        let newest = try #require(result.jobs.map(\.lastEventTime).max())
        #expect(result.endTime == newest, "the replay clock ends at the newest event time")
        #expect(result.endTime < Self.start + 401, "never the wall clock")
        live.clock.set(result.endTime)

        let liveJobs = live.store.jobSummaries()
        let replayed = store.jobSummaries()
        #expect(liveJobs.count == 2)
        #expect(liveJobs.allSatisfy { $0.finished > 100 && $0.etaSeconds != nil && $0.remaining ?? 0 > 0 }, "mid-run: an ETC to compare")
        // Everything: counts, planned, throughput windows, the ETC and its band, agents by state.
        #expect(replayed == liveJobs)
        for job in liveJobs {
            #expect(store.agentSummaries(job: job.job) == live.store.agentSummaries(job: job.job))
        }
        #expect(result.jobs.map(\.finished) == liveJobs.map(\.finished))
        #expect(result.jobs.map(\.etaSeconds) == liveJobs.map(\.etaSeconds))
        #expect(result.accepted > 1000 && result.rejected == 0)
    }

    @Test func theETCHistoryIsWhatTheLiveRunShowedAtEachMark() throws {
        // Live, one event at a time at its own time, the ETC read after each; the replay, one line
        // per batch, records it when a mark is first passed.
        var options = DemoOptions()
        options.jobs = 1
        options.agentsPerJob = 10
        options.itemsPerJob = 300
        options.seed = 3
        var simulation = Simulation(options: options)
        let clock = ManualClock(Self.start)
        let store = ProgressStore(clock: clock)
        let ingestor = Ingestor(store: store, limits: DecoderLimits())
        var log: [UInt8] = []
        var liveAtMark: [Double: Double?] = [:]
        var time = Self.start
        while time < Self.start + 3600, liveAtMark.count < Replayer.historyMarks.count {
            for event in simulation.advance(to: time) {
                let line = NativeEventEncoder.ndjson([event])
                log += line
                clock.set(max(clock.now(), event.time ?? 0))
                ingestor.ingestNative(line, source: "http")
                let job = try #require(store.jobSummaries().first)
                for mark in Replayer.historyMarks where liveAtMark[mark] == nil && (job.progressRatio ?? 0) >= mark {
                    liveAtMark[mark] = job.etaSeconds
                }
            }
            time += 1
        }
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("one.jsonl").path
        try Data(log).write(to: URL(fileURLWithPath: path))
        let replayClock = ReplayClock()
        let replayer = Replayer(ingestor: Ingestor(store: ProgressStore(clock: replayClock), limits: DecoderLimits()), clock: replayClock)
        replayer.batchLines = 1
        let result = try replayer.run(files: [path])
        let history = try #require(result.jobs.first?.etcHistory)
        #expect(history.map(\.mark) == Replayer.historyMarks)
        #expect(history.allSatisfy { $0.etaSeconds != nil })
        for point in history {
            #expect(point.etaSeconds == liveAtMark[point.mark] ?? nil, "at \(point.mark)")
        }
    }

    @Test func pacingWaitsEventTimeOverSpeed() throws {
        let live = Self.liveRun(seconds: 100)
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("paced.jsonl").path
        try Data(live.log).write(to: URL(fileURLWithPath: path))
        // The waits are recorded, not slept; real time moves only by them.
        let clock = ReplayClock()
        let replayer = Replayer(ingestor: Ingestor(store: ProgressStore(clock: clock), limits: DecoderLimits()), clock: clock, speed: 50)
        var slept = 0.0
        var waits = 0
        replayer.sleep = { slept += $0; waits += 1 }
        replayer.realTime = { slept }
        let result = try replayer.run(files: [path])
        let span = result.endTime - (result.firstEventTime ?? 0)
        #expect(span > 90)
        #expect(abs(slept - span / 50) < 0.01, "slept \(slept) s for \(span) s of event time")
        // Batches of at most a tenth of a real second of event time (5 s at 50x).
        #expect(waits >= Int(span / 5) - 1)
    }

    @Test(arguments: [false, true])
    func progressIsReportedAfterEveryBatchUpToTheWholeFile(gzipped: Bool) throws {
        let live = Self.liveRun(seconds: 60)
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("p.jsonl").path
        try Data(gzipped ? try Self.gzip(live.log) : live.log).write(to: URL(fileURLWithPath: path))
        let clock = ReplayClock()
        let replayer = Replayer(ingestor: Ingestor(store: ProgressStore(clock: clock), limits: DecoderLimits()), clock: clock)
        var reports: [Replayer.Progress] = []
        let result = try replayer.run(files: [path]) { reports.append($0) }
        // One chunk of the file, many batches (one second of event time each): one report each.
        #expect(reports.count == result.batches && reports.count > 30)
        #expect(zip(reports, reports.dropFirst()).allSatisfy { $0.bytesRead <= $1.bytesRead && $0.eventTime <= $1.eventTime && $0.events <= $1.events })
        #expect(reports.last?.ratio == 1 && reports.last?.events == result.accepted)
        #expect(reports.first.map { $0.ratio < 0.2 } == true)
    }

    @Test func concatenatedGzipMembersAndCRLFLinesAreRead() throws {
        let first = #"{"type":"job_started","job":"a","total_items":3,"ts":1700000000}"# + "\r\n"
            + #"{"type":"item_completed","job":"a","agent":"w","item":"1","ts":1700000010}"# + "\n"
        let second = #"{"type":"item_completed","job":"a","agent":"w","item":"2","ts":1700000020}"# + "\n"
            + #"{"type":"item_dead_lettered","job":"a","item":"3","error":"x","ts":1700000030}"#
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("rotated.jsonl.gz").path
        try Data(try Self.gzip(Array(first.utf8)) + Self.gzip(Array(second.utf8))).write(to: URL(fileURLWithPath: path))
        let (result, _) = try replay([path])
        let job = try #require(result.jobs.first)
        #expect(result.accepted == 4)
        #expect(job.finished == 3 && job.completed == 2 && job.deadLettered == 1 && job.status == "running")
        #expect(job.durationSeconds == 30)
        #expect(job.etaSeconds == 0)
        #expect(result.endTime == 1_700_000_030)
    }

    @Test func aTruncatedGzipIsAnErrorNamingTheFile() throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("cut.gz").path
        let whole = try Self.gzip(Array(String(repeating: #"{"type":"job_started","job":"a"}"# + "\n", count: 2000).utf8))
        try Data(whole.prefix(whole.count / 2)).write(to: URL(fileURLWithPath: path))
        #expect(throws: LogFile.Failure.self) { try replay([path]) }
        do {
            _ = try replay([path])
        } catch {
            #expect("\(error)".contains(path) && "\(error)".contains("truncated"), "\(error)")
        }
    }

    @Test func badLinesAreCountedAndFutureTimesDoNotMoveTheClock() throws {
        let lines = [
            #"{"type":"job_started","job":"a","total_items":2,"ts":1700000000}"#,
            "not json",
            #"{"type":"item_completed","job":"a","agent":"w","item":"1","ts":4000000000}"#,
            #"{"type":"item_completed","job":"a","agent":"w","item":"2","ts":1700000060}"#,
        ]
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("bad.jsonl").path
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: path))
        let (result, _) = try replay([path])
        #expect(result.accepted == 3 && result.rejected == 1)
        #expect(result.endTime == 1_700_000_060, "a time far in the future is bogus, as the live exporter takes it")
        #expect(result.jobs.first?.finished == 2)
    }

    @Test func theTableNamesEveryJobAndTheJSONDecodes() throws {
        let live = Self.liveRun(seconds: 120)
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("e.jsonl").path
        try Data(live.log).write(to: URL(fileURLWithPath: path))
        let (result, _) = try replay([path])
        let table = ReplayReport.table(result)
        let header = try #require(table.split(separator: "\n").first)
        #expect(header.hasPrefix("JOB") && header.contains("DEAD-LETTERED") && header.contains("ETC"))
        for job in result.jobs { #expect(table.contains(job.job)) }
        // Two minutes of 600-item jobs: both still run, and the ETC history does not say they ended.
        for job in result.jobs {
            #expect(job.status == "running")
            #expect(table.contains("; still running at its last event, \(ReplayReport.timestamp(job.lastEventTime))\n"), "\(table)")
        }
        #expect(!table.contains("; ended "))
        #expect(ReplayReport.printable("two\nlines\t") == "two\\nlines\\t")
        #expect(ReplayReport.printable("zürich") == "zürich")
        let decoded = try JSONDecoder().decode(ReplayResult.self, from: Data(try ReplayReport.json(result).utf8))
        #expect(decoded == result)
        // Each job in the JSON is the API's job object plus the replay's own three fields.
        let json = try #require(try JSONSerialization.jsonObject(with: Data(try ReplayReport.json(result).utf8)) as? [String: Any])
        let first = try #require((json["jobs"] as? [[String: Any]])?.first)
        for key in ["job", "status", "throughput_by_window", "eta_upper_bound_seconds", "agents", "duration_seconds", "mean_throughput", "etc_history"] {
            #expect(first[key] != nil, "\(key) in \(first.keys.sorted())")
        }
    }
}
