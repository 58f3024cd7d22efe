import Events
import Foundation
import TestSupport
import Testing
import Tracking
@testable import ExporterApp

/// `progress-exporter export`: jobs and agents as JSON or RFC 4180 CSV, from the API or a snapshot folder.
@Suite struct ExportTests {
    /// Ids a spreadsheet import must not split: quotes, commas, line breaks, spaces at the ends,
    /// non-ASCII, and characters that mean something in a URL.
    static let hostileJobs = [#"etl,"nightly""#, "multi\nline\r\njob", " padded ", "zürich-€", "a?b#c%20d&e=f", "plain"]
    static let hostileAgents = [#"w"1""#, "w,2", "w\n3", "=SUM(A1)"]

    static func events() -> [UInt8] {
        var lines: [String] = []
        func quoted(_ text: String) -> String { String(decoding: try! JSONEncoder().encode(text), as: UTF8.self) }
        for (index, job) in hostileJobs.enumerated() {
            lines.append(#"{"type":"job_started","job":\#(quoted(job)),"total_items":\#(10 + index),"ts":1800000000}"#)
            for (n, agent) in hostileAgents.enumerated() {
                lines.append(#"{"type":"agent_started","job":\#(quoted(job)),"agent":\#(quoted(agent)),"item":"i\#(n),x","ts":1800000001}"#)
                lines.append(#"{"type":"item_completed","job":\#(quoted(job)),"agent":\#(quoted(agent)),"item":"i\#(n),x","ts":1800000002}"#)
            }
        }
        return Array((lines.joined(separator: "\n") + "\n").utf8)
    }

    /// Parses CSV with Python's csv module (an RFC 4180 reader we did not write), as rows of fields.
    static func parseCSV(_ text: String) throws -> [[String]] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", "import csv, io, json, sys; print(json.dumps(list(csv.reader(io.StringIO(sys.stdin.read(), newline='')))))"]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        input.fileHandleForWriting.write(Data(text.utf8))
        try input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return try JSONDecoder().decode([[String]].self, from: data)
    }

    @Test func csvFieldsAreQuotedPerRFC4180() {
        #expect(CSV.field("plain") == "plain")
        // Formula injection (OWASP): tracker text that a spreadsheet would evaluate is neutralised.
        for hostile in ["=1+1", "+cmd", "-2+3", "@SUM(A1)", "\tx", "\rx"] {
            #expect(CSV.text(hostile) == "'" + hostile)
        }
        #expect(CSV.text("etl-1") == "etl-1" && CSV.text("") == "")
        #expect(CSV.field("a,b") == #""a,b""#)
        #expect(CSV.field(#"say "hi""#) == #""say ""hi""""#)
        #expect(CSV.field("two\nlines") == "\"two\nlines\"")
        #expect(CSV.field("crlf\r\nhere") == "\"crlf\r\nhere\"")
        #expect(CSV.field(" x") == #"" x""#)
        #expect(CSV.field("") == "")
        #expect(CSV.row(["a", "b,c"]) == "a,\"b,c\"\r\n")
    }

    func store() -> ProgressStore {
        let store = ProgressStore(clock: ManualClock(1_800_000_010))
        Ingestor(store: store, limits: DecoderLimits()).ingestNative(Self.events(), source: "http")
        return store
    }

    @Test func hostileIdsSurviveACSVReaderInJobsAndAgents() throws {
        let store = store()
        let jobs = store.jobSummaries()
        let export = JobExport(jobs: jobs)
        let rows = try Self.parseCSV(export.csv())
        #expect(rows.first == JobExport.jobColumns)
        #expect(rows.count == Self.hostileJobs.count + 1)
        #expect(Set(rows.dropFirst().map { $0[0] }) == Set(Self.hostileJobs))
        #expect(rows.dropFirst().allSatisfy { $0.count == JobExport.jobColumns.count })
        let planned = JobExport.jobColumns.firstIndex(of: "planned")!
        for row in rows.dropFirst() {
            #expect(row[planned] == "\(10 + Self.hostileJobs.firstIndex(of: row[0])!)")
        }

        let withAgents = JobExport(jobs: jobs, agents: jobs.map { ($0.job, store.agentSummaries(job: $0.job) ?? []) })
        let agentRows = try Self.parseCSV(withAgents.csv())
        #expect(agentRows.first == JobExport.agentColumns)
        #expect(agentRows.count == 1 + Self.hostileJobs.count * Self.hostileAgents.count)
        for row in agentRows.dropFirst() {
            #expect(row.count == JobExport.agentColumns.count)
            #expect(Self.hostileJobs.contains(row[0]) && Self.hostileAgents.map(CSV.text).contains(row[1]), "\(row)")
            #expect(row[1] != "=SUM(A1)", "a formula is neutralised")
            #expect(row[7] == "1", "completed")
        }
    }

    @Test func aSnapshotFolderExportsWhatTheStoreHeldWhenItWasTaken() throws {
        let store = store()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("export-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let (sequence, bytes) = store.snapshot()
        try SnapshotFile.write(SnapshotFile(sequence: sequence, takenAt: 1_800_000_010, store: bytes, alerts: []).encoded(), folder: folder)

        let jobs = try JobExport.fromSnapshot(folder: folder, job: nil, agents: false)
        #expect(jobs.jobs == store.jobSummaries())
        #expect(jobs.agents == nil)
        let one = try JobExport.fromSnapshot(folder: folder, job: "multi\nline\r\njob", agents: true)
        #expect(one.jobs.map(\.job) == ["multi\nline\r\njob"])
        #expect(one.agents?.first?.agents == store.agentSummaries(job: "multi\nline\r\njob"))
        #expect(throws: JobExport.Failure.self) { try JobExport.fromSnapshot(folder: folder, job: "nope", agents: false) }
        // A mistyped job names the nearest; a name near none lists the first few.
        do {
            _ = try JobExport.fromSnapshot(folder: folder, job: "plian", agents: false)
            Issue.record("no error")
        } catch {
            #expect(error.description == "no job plian (did you mean plain?)")
        }
        do {
            _ = try JobExport.fromSnapshot(folder: folder, job: "nope", agents: false)
            Issue.record("no error")
        } catch {
            #expect(error.description == "no job nope; the 6 jobs are  padded , a?b#c%20d&e=f, etl,\"nightly\", multi\nline\r\njob, plain and 1 more")
        }
        #expect(throws: JobExport.Failure.self) { try JobExport.fromSnapshot(folder: folder + "/missing", job: nil, agents: false) }
    }

    @Test func aRunningExporterExportsItsAPIIncludingAgentsOfHostileJobs() throws {
        var options = ExporterOptions()
        options.listenAddress = "127.0.0.1:0"
        let exporter = try Exporter(options: options, clock: ManualClock(1_800_000_010))
        try exporter.start()
        defer { exporter.stop() }
        exporter.ingestor.ingestNative(Self.events(), source: "http")
        exporter.ingestor.ingestNative(Array(#"{"type":"agent_started","job":"repo/run-1","agent":"a","ts":1800000001}"#.utf8), source: "http")

        let export = try JobExport.fromURL("http://127.0.0.1:\(exporter.port)/", job: nil, agents: true)
        #expect(export.jobs == exporter.store.jobSummaries())
        let agents = try #require(export.agents)
        // A job id with '/' goes into the path as %2F and reaches its own agents.
        #expect(agents.map(\.job) == exporter.store.jobSummaries().map(\.job))
        #expect(agents.first { $0.job == "repo/run-1" }?.agents.map(\.agent) == ["a"])
        for (job, list) in agents where job != "repo/run-1" {
            #expect(list == exporter.store.agentSummaries(job: job), "\(job)")
            #expect(list.count == Self.hostileAgents.count)
        }
        let one = try JobExport.fromURL("http://127.0.0.1:\(exporter.port)", job: "a?b#c%20d&e=f", agents: false)
        #expect(one.jobs.map(\.job) == ["a?b#c%20d&e=f"])
        // The JSON has the API's field names and reads back.
        struct Jobs: Decodable { let jobs: [JobSummary] }
        #expect(try JSONDecoder().decode(Jobs.self, from: Data(one.json().utf8)).jobs == one.jobs)
        #expect(throws: JobExport.Failure.self) { try JobExport.fromURL("ftp://x", job: nil, agents: false) }
    }
}
