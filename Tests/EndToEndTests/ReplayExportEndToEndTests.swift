import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import TestSupport
import Synchronization
import Testing

/// `progress-exporter replay` and `progress-exporter export` through the real binary.
@Suite(.serialized) struct ReplayExportEndToEndTests {
    final class Folder {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("pe-replay-\(UUID().uuidString)")
        init() throws { try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true) }
        deinit { try? FileManager.default.removeItem(at: url) }
        func path(_ name: String) -> String { url.appendingPathComponent(name).path }
    }

    /// The fields of /api/v1/jobs and of the replay's summary that must agree.
    struct Totals: Decodable, Equatable {
        let job: String
        let status: String
        let planned: Int64?
        let finished: UInt64
        let completed: UInt64
        let failed: UInt64
        let dead_lettered: UInt64
        let retries: UInt64
        let start_timestamp: Double
        let last_event_timestamp: Double
    }

    struct ETC: Decodable, Equatable {
        let job: String
        let eta_seconds: Double?
        let estimated_completion_timestamp: Double?
    }

    struct Jobs<T: Decodable>: Decodable { let jobs: [T] }

    /// Runs the binary to its end; standard output and standard error apart.
    static func run(_ arguments: [String], seconds: Double = 60) throws -> (status: Int32, stdout: Data, stderr: String) {
        let process = Process()
        process.executableURL = try ExporterProcess.binary
        process.arguments = arguments
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Read both while it runs, so a full pipe cannot stall it.
        let stdout = Mutex(Data())
        let reader = Thread { let data = out.fileHandleForReading.readDataToEndOfFile(); stdout.withLock { $0 = data } }
        reader.start()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        while reader.isExecuting { Thread.sleep(forTimeInterval: 0.01) }
        return (process.terminationStatus, stdout.withLock { $0 }, String(decoding: stderr, as: UTF8.self))
    }

    /// A realistic log whose events end now, as `simulate` records it.
    static func simulatedLog(_ folder: Folder) throws -> String {
        let path = folder.path("events.jsonl")
        let simulated = try run(["simulate", "--jobs", "3", "--agents", "6", "--items", "400", "--speed", "0", "--duration", "4m"])
        #expect(simulated.status == 0)
        try simulated.stdout.write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func aReplayShowsTheTotalsTheLiveExporterShowedForTheSameLog() async throws {
        let folder = try Folder()
        let path = try Self.simulatedLog(folder)
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").count

        let live = try await ExporterProcess(["--events.file", path])
        defer { live.stop() }
        #expect(try await eventually(within: 20) {
            sample(try await live.metrics(), #"progress_exporter_events_received_total{source="file"}"#) == Double(lines)
        })
        let liveJobs = try JSONDecoder().decode(Jobs<Totals>.self, from: Data(try await live.request("GET", "/api/v1/jobs").body.utf8)).jobs

        // gzip, told by its magic bytes whatever the name.
        let gzipped = folder.path("events.log")
        let gzip = Process()
        gzip.executableURL = URL(fileURLWithPath: "/bin/sh")
        gzip.arguments = ["-c", "gzip -c '\(path)' > '\(gzipped)'"]
        try gzip.run()
        gzip.waitUntilExit()
        let replayed = try Self.run(["replay", "--output", "json", gzipped])
        #expect(replayed.status == 0, "\(replayed.stderr)")
        let replayJobs = try JSONDecoder().decode(Jobs<Totals>.self, from: replayed.stdout).jobs
        #expect(replayJobs.count == 3)
        #expect(replayJobs == liveJobs)
        // Not a terminal: plain progress lines, the last one at 100 %.
        #expect(replayed.stderr.split(separator: "\n").last?.hasPrefix("replay: 100% of ") == true, "\(replayed.stderr)")
        #expect(!replayed.stderr.contains("\u{1B}["))

        let table = try Self.run(["replay", path])
        let text = String(decoding: table.stdout, as: UTF8.self)
        #expect(text.hasPrefix("JOB "))
        for job in liveJobs { #expect(text.contains(job.job)) }
        #expect(text.contains("\(lines) events applied, 0 rejected"))
    }

    @Test func aProdigyLogReplaysAsTheLiveExporterFollowsIt() async throws {
        let folder = try Folder()
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("EventsTests/Fixtures/prodigy-mapreduce-events.jsonl")
        try FileManager.default.createDirectory(atPath: folder.path("repo/run-1"), withIntermediateDirectories: true)
        let path = folder.path("repo/run-1/events-1.jsonl")
        try FileManager.default.copyItem(atPath: fixture.path, toPath: path)

        // The recorded run ended long ago: the live exporter must keep it to be compared.
        let live = try await ExporterProcess([
            "--events.file", path, "--events.format", "prodigy", "--jobs.retention", "100000h", "--jobs.silent-retention", "100000h",
        ])
        defer { live.stop() }
        var liveJobs: [Totals] = []
        #expect(try await eventually(within: 20) {
            liveJobs = try JSONDecoder().decode(Jobs<Totals>.self, from: Data(try await live.request("GET", "/api/v1/jobs").body.utf8)).jobs
            return liveJobs.first?.finished ?? 0 > 0
        })
        let replayed = try Self.run(["replay", "--events.format", "prodigy", "--output", "json", path])
        #expect(replayed.status == 0, "\(replayed.stderr)")
        let replayJobs = try JSONDecoder().decode(Jobs<Totals>.self, from: replayed.stdout).jobs
        #expect(replayJobs.map(\.job) == ["repo/run-1"])
        #expect(replayJobs == liveJobs)
    }

    @Test func replayServeServesTheReplayedStateAtTheLogsEnd() async throws {
        let folder = try Folder()
        let path = try Self.simulatedLog(folder)
        let (process, bound, printed, log) = try Self.startReplayServe(path)
        defer {
            if process.isRunning { process.terminate() }
            process.waitUntilExit()
        }
        #expect(bound > 0 && bound != 9465, "--web.listen-address reaches replay --serve: \(log)")
        let summary = try JSONDecoder().decode(Jobs<Totals>.self, from: printed).jobs
        let summaryETC = try JSONDecoder().decode(Jobs<ETC>.self, from: printed).jobs

        let (data, _) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(bound)/api/v1/jobs")!)
        #expect(try JSONDecoder().decode(Jobs<Totals>.self, from: data).jobs == summary)
        // The clock stays at the log's end: the served ETC is the printed one, seconds later.
        try await Task.sleep(for: .seconds(1.5))
        let (later, _) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(bound)/api/v1/jobs")!)
        #expect(try JSONDecoder().decode(Jobs<ETC>.self, from: later).jobs == summaryETC)
        let (metrics, _) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(bound)/metrics")!)
        let text = String(decoding: metrics, as: UTF8.self)
        for job in summary {
            #expect(sample(text, #"progress_job_items_processed_total{job_name="\#(job.job)",outcome="completed"}"#) == Double(job.completed))
        }
        let (page, _) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(bound)/")!)
        // The live page is drawn from the API and the stream: it is served, and the history it charts is there.
        #expect(String(decoding: page, as: UTF8.self).contains("/static/live.js"))
        let (history, response) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(bound)/api/v1/jobs/\(summary[0].job)/history")!)
        #expect((response as? HTTPURLResponse)?.statusCode == 200 && !history.isEmpty)

        process.terminate()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
    }

    /// Starts `replay --serve` on a free port; returns it with the port it logged and the summary it printed first.
    static func startReplayServe(_ path: String) throws -> (Process, Int, Data, String) {
        let process = Process()
        process.executableURL = try ExporterProcess.binary
        process.arguments = ["replay", "--serve", "--web.listen-address", "127.0.0.1:0", "--output", "json", path]
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        var log = ""
        var port: Int?
        let deadline = Date().addingTimeInterval(30)
        while port == nil, Date() < deadline, process.isRunning {
            let chunk = err.fileHandleForReading.availableData
            if chunk.isEmpty { Thread.sleep(forTimeInterval: 0.05); continue }
            log += String(decoding: chunk, as: UTF8.self)
            if let range = log.range(of: #"msg=listening.* port=\d+"#, options: .regularExpression) {
                port = Int(log[range].split(separator: "=").last ?? "")
            }
        }
        guard let port else {
            if process.isRunning { process.terminate() }
            throw TestFailure("replay --serve did not start: \(log)")
        }
        // The summary was printed (one JSON line) before serving.
        var printed = Data()
        while printed.last != UInt8(ascii: "\n") { printed += out.fileHandleForReading.availableData }
        return (process, port, printed, log)
    }

    static let hostile = [#"etl,"nightly""#, "two\nlines", " padded ", "a?b#c%d"]

    static func hostileBody() -> String {
        func quoted(_ text: String) -> String { String(decoding: try! JSONEncoder().encode(text), as: UTF8.self) }
        let now = Int(Date().timeIntervalSince1970)
        var lines: [String] = []
        for (index, job) in hostile.enumerated() {
            lines.append(#"{"type":"job_started","job":\#(quoted(job)),"total_items":\#(20 + index),"ts":\#(now - 30)}"#)
            for agent in hostile {
                lines.append(#"{"type":"agent_started","job":\#(quoted(job)),"agent":\#(quoted(agent)),"item":"x","ts":\#(now - 20)}"#)
                lines.append(#"{"type":"item_completed","job":\#(quoted(job)),"agent":\#(quoted(agent)),"item":"x","ts":\#(now - 10)}"#)
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func parseCSV(_ data: Data) throws -> [[String]] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", "import csv, io, json, sys; print(json.dumps(list(csv.reader(io.StringIO(sys.stdin.read(), newline='')))))"]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        input.fileHandleForWriting.write(data)
        try input.fileHandleForWriting.close()
        let parsed = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return try JSONDecoder().decode([[String]].self, from: parsed)
    }

    @Test func exportReadsARunningExporterAndASnapshotFolderAsCSVAndJSON() async throws {
        let folder = try Folder()
        let exporter = try await ExporterProcess(["--storage.path", folder.path("data")])
        #expect(try await exporter.request("POST", "/events", body: Self.hostileBody()).status == 202)
        let api = try JSONDecoder().decode(Jobs<Totals>.self, from: Data(try await exporter.request("GET", "/api/v1/jobs").body.utf8)).jobs

        let csv = try Self.run(["export", "--format", "csv", "--url", exporter.base])
        #expect(csv.status == 0, "\(csv.stderr)")
        let rows = try Self.parseCSV(csv.stdout)
        let header = try #require(rows.first)
        #expect(header.prefix(4) == ["job", "status", "planned", "finished"])
        #expect(rows.dropFirst().map { $0[0] } == api.map(\.job))
        #expect(rows.dropFirst().map { $0[2] } == api.map { "\($0.planned ?? 0)" })
        #expect(String(decoding: csv.stdout, as: UTF8.self).hasSuffix("\r\n"))

        let agents = try Self.run(["export", "--format", "csv", "--url", exporter.base, "--agents", "--job", "two\nlines"])
        #expect(agents.status == 0, "\(agents.stderr)")
        let agentRows = try Self.parseCSV(agents.stdout)
        #expect(agentRows.first?.prefix(3) == ["job", "agent", "state"])
        #expect(agentRows.dropFirst().map { $0[1] } == Self.hostile.sorted(), "ordered by id")
        #expect(agentRows.dropFirst().allSatisfy { $0[0] == "two\nlines" && $0[7] == "1" })

        let json = try Self.run(["export", "--url", exporter.base])
        #expect(try JSONDecoder().decode(Jobs<Totals>.self, from: json.stdout).jobs == api)

        // SIGTERM writes the last snapshot; export reads the folder with no exporter running.
        #expect(exporter.stop() == 0)
        let offline = try Self.run(["export", "--storage.path", folder.path("data")])
        #expect(offline.status == 0, "\(offline.stderr)")
        #expect(try JSONDecoder().decode(Jobs<Totals>.self, from: offline.stdout).jobs == api)
        let offlineAgents = try Self.run(["export", "--storage.path", folder.path("data"), "--format", "csv", "--agents"])
        #expect(try Self.parseCSV(offlineAgents.stdout).count == 1 + Self.hostile.count * Self.hostile.count)

        let neither = try Self.run(["export"])
        #expect(neither.status == 64 && neither.stderr.contains("--url"))
        let dead = try Self.run(["export", "--url", "http://127.0.0.1:\(try freePort())"])
        #expect(dead.status == 1 && dead.stderr.contains("Error: could not read"), "\(dead.stderr)")
    }
}
