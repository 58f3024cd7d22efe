import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import TestSupport
import Testing

/// `--storage.path` through the real binary: restarts, kill -9, followed files, damaged snapshots, alerts.
@Suite(.serialized) struct PersistenceTests {
    let now = Int(Date().timeIntervalSince1970)

    final class Folder {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("pe-storage-\(UUID().uuidString)")
        init() throws { try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true) }
        deinit { try? FileManager.default.removeItem(at: url) }
        func path(_ name: String) -> String { url.appendingPathComponent(name).path }
    }

    var body: String {
        """
        {"type":"job_started","job":"etl","total_items":10,"ts":\(now - 60)}
        {"type":"agent_started","job":"etl","agent":"w1","item":"a","ts":\(now - 50)}
        {"type":"item_completed","job":"etl","agent":"w1","item":"a","ts":\(now - 40)}
        {"type":"item_failed","job":"etl","agent":"w2","item":"b","retryable":true,"ts":\(now - 30)}
        {"type":"agent_retrying","job":"etl","agent":"w2","attempt":2,"ts":\(now - 29)}
        {"type":"item_completed","job":"etl","agent":"w2","item":"b","ts":\(now - 20),"id":"e-1"}
        """
    }

    /// The series that must survive a restart unchanged (counters never go backwards).
    static let kept = [
        #"progress_job_items{job_name="etl"}"#,
        #"progress_job_items_remaining{job_name="etl"}"#,
        #"progress_job_items_processed_total{job_name="etl",outcome="completed"}"#,
        #"progress_job_items_processed_total{job_name="etl",outcome="failed"}"#,
        #"progress_job_retries_total{job_name="etl"}"#,
        #"progress_agent_items_processed_total{job_name="etl",agent="w2",outcome="completed"}"#,
        #"progress_job_start_timestamp_seconds{job_name="etl"}"#,
        #"progress_exporter_events_received_total{source="http"}"#,
    ]

    /// Waits for a snapshot that holds at least the first batch (sequence 1).
    static func snapshotWritten(by exporter: ExporterProcess) async throws -> Bool {
        try await eventually(within: 10) {
            (sample(try await exporter.metrics(), "progress_exporter_storage_last_sequence") ?? 0) >= 1
        }
    }

    func values(_ exporter: ExporterProcess) async throws -> [Double?] {
        let metrics = try await exporter.metrics()
        return Self.kept.map { sample(metrics, $0) }
    }

    @Test func sigtermAndRestartKeepEverything() async throws {
        let folder = try Folder()
        let first = try await ExporterProcess(["--storage.path", folder.path("data")])
        #expect(try await first.request("POST", "/events", body: body).status == 202)
        let before = try await values(first)
        #expect(before[2] == 2 && before[0] == 10)
        #expect(first.stop() == 0)
        // The shutdown says what the last snapshot holds, and the start what it restored.
        let stopped = first.fullLog()
        #expect(stopped.contains(#"msg="snapshot written" agents=2 bytes="#) && stopped.contains(" folder=\(folder.path("data")) jobs=1 sequence=1\n"), "\(stopped)")

        let second = try await ExporterProcess(["--storage.path", folder.path("data")])
        defer { second.stop() }
        #expect(second.startupLog.contains(#"msg="state restored" agents=2 duration_ms="#) && second.startupLog.contains(" folder=\(folder.path("data")) jobs=1 sequence=1 taken_at="), "\(second.startupLog)")
        #expect(try await values(second) == before)
        // A re-sent event with a known id is still a duplicate after the restart.
        let again = try await second.request("POST", "/events", body: #"{"type":"item_completed","job":"etl","agent":"w2","item":"b","id":"e-1"}"#)
        #expect(again.status == 202)
        #expect(try await values(second).dropLast() == before.dropLast(), "received counts it; nothing else moves")
        #expect(second.startupLog.contains("state restored"))
    }

    @Test func killNineKeepsTheLastSnapshot() async throws {
        let folder = try Folder()
        let arguments = ["--storage.path", folder.path("data"), "--storage.snapshot-interval", "1s"]
        let first = try await ExporterProcess(arguments)
        #expect(try await first.request("POST", "/events", body: body).status == 202)
        let before = try await values(first)
        #expect(try await Self.snapshotWritten(by: first), "a snapshot holds the first batch")
        kill(first.process.processIdentifier, SIGKILL)
        first.process.waitUntilExit()

        let second = try await ExporterProcess(arguments)
        defer { second.stop() }
        #expect(try await values(second) == before)
    }

    @Test func aFollowedFileNeitherRecountsNorSkipsAcrossKillNine() async throws {
        let folder = try Folder()
        let events = folder.path("events.jsonl")
        try (body + "\n").write(toFile: events, atomically: false, encoding: .utf8)
        let arguments = ["--storage.path", folder.path("data"), "--storage.snapshot-interval", "1s", "--events.file", events]
        let completed = #"progress_job_items_processed_total{job_name="etl",outcome="completed"}"#
        let first = try await ExporterProcess(arguments)
        #expect(try await eventually(within: 10) { sample(try await first.metrics(), completed) == 2 })
        #expect(try await Self.snapshotWritten(by: first), "a snapshot holds the first batch")
        kill(first.process.processIdentifier, SIGKILL)
        first.process.waitUntilExit()

        // Written while the exporter was down: read once after the restart, the rest not again.
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: events))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(#"{"type":"item_completed","job":"etl","agent":"w1","item":"c","ts":\#(now - 5)}"#.utf8 + [10]))
        try handle.close()

        let second = try await ExporterProcess(arguments)
        defer { second.stop() }
        #expect(try await eventually(within: 10) { sample(try await second.metrics(), completed) == 3 })
        // Give the tailer a few more polls: a re-read from the start would make it 5.
        #expect(try await eventually(within: 10) {
            (sample(try await second.metrics(), #"progress_exporter_source_lines_total{source="file"}"#) ?? 0) >= 1
        })
        #expect(sample(try await second.metrics(), completed) == 3)
        #expect(sample(try await second.metrics(), #"progress_exporter_source_lines_total{source="file"}"#) == 1, "only the new line was read")
    }

    @Test func aCorruptedSnapshotFallsBackToThePreviousOne() async throws {
        let folder = try Folder()
        let arguments = ["--storage.path", folder.path("data"), "--storage.snapshot-interval", "1s"]
        let first = try await ExporterProcess(arguments)
        #expect(try await first.request("POST", "/events", body: body).status == 202)
        let before = try await values(first)
        #expect(try await Self.snapshotWritten(by: first), "a snapshot holds the first batch")
        #expect(first.stop() == 0)   // the final snapshot becomes current, the periodic one previous
        let current = folder.path("data/state.snap")
        #expect(FileManager.default.fileExists(atPath: folder.path("data/state.snap.previous")))
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: current)))
        bytes[bytes.count / 2] ^= 0x5A
        try Data(bytes).write(to: URL(fileURLWithPath: current))

        let second = try await ExporterProcess(arguments)
        defer { second.stop() }
        #expect(second.startupLog.contains("snapshot refused"))
        #expect(second.startupLog.contains("checksum mismatch"))
        #expect(try await values(second) == before)
        #expect(sample(try await second.metrics(), "progress_exporter_storage_load_failures_total") == 1)
    }

    @Test func aFiringAlertStaysFiringWithItsActiveAtAndIsNotAnnouncedAgain() async throws {
        let folder = try Folder()
        let config = folder.path("config.yml")
        try """
            evaluation_interval: 1s
            rules:
              - alert: AgentStalled
                kind: agent_stalled
                after: 1s
                for: 0s
            receivers:
              - name: log
                log: {}
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let arguments = ["--storage.path", folder.path("data"), "--config.file", config]
        func firing(_ exporter: ExporterProcess) async throws -> [[String: Any]] {
            let answer = try await exporter.request("GET", "/api/v1/alerts")
            let alerts = (try JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [String: Any])?["alerts"] as? [[String: Any]] ?? []
            return alerts.filter { $0["state"] as? String == "firing" }
        }
        let first = try await ExporterProcess(arguments)
        _ = try await first.request("POST", "/events", body: #"{"type":"agent_started","job":"etl","agent":"w7","item":"a","ts":\#(now - 100)}"#)
        #expect(try await eventually(within: 10) { try await firing(first).count == 1 })
        let activeAt = try await firing(first).first?["activeAt"] as? String
        #expect(first.stop() == 0)
        #expect(first.fullLog().contains("alert firing"))

        let second = try await ExporterProcess(arguments)
        // A second agent stalls after the restart: once its alert fires, evaluations have run over
        // the restored one too (so "not announced again" is not vacuous).
        _ = try await second.request("POST", "/events", body: #"{"type":"agent_started","job":"etl","agent":"w8","item":"b","ts":\#(now - 100)}"#)
        #expect(try await eventually(within: 10) { try await firing(second).count == 2 })
        let after = try await firing(second).first { ($0["labels"] as? [String: String])?["agent"] == "w7" }
        #expect(after?["activeAt"] as? String == activeAt, "the same activeAt as before the restart")
        #expect(second.stop() == 0)
        let log = second.fullLog()
        #expect(log.contains("alert firing") && log.contains("agent=w8"))
        #expect(!log.contains("agent=w7"), "w7's alert is not announced again")
    }

    @Test func withTheJournalKillNineLosesNoAcknowledgedEvent() async throws {
        let folder = try Folder()
        // A snapshot interval far longer than the test: only the journal can bring the events back.
        let arguments = ["--storage.path", folder.path("data"), "--storage.snapshot-interval", "1h", "--storage.journal"]
        let first = try await ExporterProcess(arguments)
        #expect(try await first.request("POST", "/events", body: body).status == 202)
        // Concurrent POSTs share fsyncs (group commit).
        let url = URL(string: first.base + "/events")!
        let now = now
        try await withThrowingTaskGroup(of: Int.self) { group in
            for i in 0..<20 {
                group.addTask {
                    var request = URLRequest(url: url)
                    request.httpMethod = "POST"
                    request.httpBody = Data(#"{"type":"item_completed","job":"etl","agent":"w\#(i)","item":"p\#(i)","ts":\#(now - 10)}"#.utf8)
                    let (_, response) = try await URLSession.shared.data(for: request)
                    return (response as? HTTPURLResponse)?.statusCode ?? -1
                }
            }
            for try await status in group { #expect(status == 202) }
        }
        let before = try await values(first)
        let metrics = try await first.metrics()
        #expect(sample(metrics, "progress_exporter_storage_journal_records_total") == 21)
        #expect((sample(metrics, "progress_exporter_storage_journal_fsyncs_total") ?? 0) <= 21)
        kill(first.process.processIdentifier, SIGKILL)
        first.process.waitUntilExit()

        let second = try await ExporterProcess(arguments)
        #expect(try await values(second).dropLast() == before.dropLast())
        #expect(sample(try await second.metrics(), #"progress_job_items_processed_total{job_name="etl",outcome="completed"}"#) == 22)
        #expect(second.startupLog.contains("journal replayed"))
        // Replayed once: a clean stop and another restart (snapshot, no journal left) agree.
        #expect(second.stop() == 0)
        let third = try await ExporterProcess(arguments)
        defer { third.stop() }
        #expect(sample(try await third.metrics(), #"progress_job_items_processed_total{job_name="etl",outcome="completed"}"#) == 22)
    }

    @Test func theJournalNeedsAStoragePath() async throws {
        let (status, output) = try await ExporterProcess.runToExit(["serve", "--web.listen-address", "127.0.0.1:0", "--storage.journal"])
        #expect(status != nil && status != 0)
        #expect(output.contains("--storage.journal needs --storage.path"))
    }

    @Test func anUnusableFolderIsRefusedAtStart() async throws {
        let folder = try Folder()
        let file = folder.path("not-a-folder")
        #expect(FileManager.default.createFile(atPath: file, contents: Data("x".utf8)))
        let (status, output) = try await ExporterProcess.runToExit(["serve", "--web.listen-address", "127.0.0.1:0", "--storage.path", file])
        #expect(status != nil && status != 0)
        #expect(output.contains("--storage.path"))
    }
}
