import Foundation
import TestSupport
import Testing

/// The real binary on 127.0.0.1: events in over HTTP, standard input and a followed file; /metrics out.
@Suite(.serialized) struct EndToEndTests {
    let now = Int(Date().timeIntervalSince1970)

    @Test func postedEventsShowOnMetricsAndBadLinesAreRejectedAlone() async throws {
        let exporter = try await ExporterProcess([])
        defer { #expect(exporter.stop() == 0, "clean exit on SIGTERM") }

        let body = """
            {"type":"job_started","job":"etl","total_items":4,"ts":\(now - 30)}
            {"type":"agent_started","job":"etl","agent":"w\\"1","item":"a","ts":\(now - 20)}
            {"type":"item_completed","job":"etl","agent":"w\\"1","item":"a","ts":"\(iso(now - 10))"}
            not json at all
            {"type":"teleport","job":"etl"}
            {"type":"item_completed","agent":"w2"}
            {"type":"item_failed","job":"etl","agent":"w2","item":"b","retryable":false,"ts":\(now - 5)}
            """
        let answer = try await exporter.request("POST", "/events", body: body)
        #expect(answer.status == 202)
        let summary = try JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as! [String: Any]
        #expect(summary["accepted"] as? Int == 4)
        #expect(summary["rejected"] as? Int == 3)
        let rejections = summary["rejections"] as! [[String: Any]]
        #expect(rejections.map { $0["line"] as? Int } == [4, 5, 6])
        #expect(rejections.map { $0["reason"] as? String } == ["invalid_json", "unknown_type", "missing_field"])

        let metrics = try await exporter.metrics()
        #expect(sample(metrics, #"progress_job_items{job_name="etl"}"#) == 4)
        #expect(sample(metrics, #"progress_job_items_remaining{job_name="etl"}"#) == 2)
        #expect(sample(metrics, #"progress_job_progress_ratio{job_name="etl"}"#) == 0.5)
        #expect(sample(metrics, #"progress_job_items_processed_total{job_name="etl",outcome="completed"}"#) == 1)
        #expect(sample(metrics, #"progress_job_items_processed_total{job_name="etl",outcome="failed"}"#) == 1)
        #expect(sample(metrics, #"progress_agent_state{job_name="etl",agent="w\"1",state="running"}"#) == 1)
        #expect(sample(metrics, #"progress_agent_state{job_name="etl",agent="w2",state="failed"}"#) == 1)
        #expect(sample(metrics, #"progress_job_last_event_timestamp_seconds{job_name="etl"}"#) == Double(now - 5))
        #expect(sample(metrics, #"progress_exporter_events_received_total{source="http"}"#) == 4)
        #expect(sample(metrics, #"progress_exporter_events_rejected_total{reason="invalid_json"}"#) == 1)
        #expect(sample(metrics, #"progress_exporter_events_rejected_total{reason="unknown_type"}"#) == 1)
        #expect(sample(metrics, #"progress_exporter_events_rejected_total{reason="missing_field"}"#) == 1)
        #expect(sample(metrics, #"progress_exporter_tracked_agents"#) == 2)
        #expect(metrics.contains("process_resident_memory_bytes "))
        #expect(try promtoolComplaints(metrics) == "")

        let openMetrics = try await exporter.request("GET", "/metrics", headers: ["Accept": "application/openmetrics-text;version=1.0.0,text/plain;q=0.5"])
        #expect((openMetrics.headers["Content-Type"] as? String)?.hasPrefix("application/openmetrics-text") == true)
        #expect(openMetrics.body.hasSuffix("# EOF\n"))
    }

    @Test func answersWithReasonsForBadRequests() async throws {
        let exporter = try await ExporterProcess(["--web.max-body-bytes", "1000"])
        defer { exporter.stop() }
        let nothing = try await exporter.request("POST", "/events", body: "garbage\n")
        #expect(nothing.status == 400)
        #expect(nothing.body.contains("invalid_json"))
        let tooBig = try await exporter.request("POST", "/events", body: String(repeating: "x", count: 2000))
        #expect(tooBig.status == 413)
        #expect(sample(try await exporter.metrics(), "progress_exporter_http_oversized_bodies_total") == 1)
        let missing = try await exporter.request("GET", "/nope")
        #expect(missing.status == 404)
        let wrongMethod = try await exporter.request("DELETE", "/metrics")
        #expect(wrongMethod.status == 405)
        #expect(try await exporter.request("GET", "/-/healthy").status == 200)
        #expect(try await exporter.request("GET", "/-/ready").status == 200)
        let page = try await exporter.request("GET", "/")
        #expect(page.body.contains("/metrics"))
    }

    @Test func jobsAPI() async throws {
        let exporter = try await ExporterProcess([])
        defer { exporter.stop() }
        _ = try await exporter.request("POST", "/events", body: """
            {"type":"job_started","job":"j1","total_items":10,"ts":\(now - 100)}
            {"type":"item_completed","job":"j1","agent":"a","item":"x","ts":\(now - 50)}
            """)
        let answer = try await exporter.request("GET", "/api/v1/jobs")
        let object = try JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as! [String: Any]
        let job = try #require((object["jobs"] as? [[String: Any]])?.first)
        #expect(job["job"] as? String == "j1")
        #expect(job["planned"] as? Int == 10)
        #expect(job["finished"] as? Int == 1)
        #expect(job["remaining"] as? Int == 9)
        #expect(job["progress_ratio"] as? Double == 0.1)
        #expect((job["eta_seconds"] as? Double).map { $0 > 0 } == true)
        #expect((job["agents"] as? [String: Int])?["running"] == 1)
        let agents = try await exporter.request("GET", "/api/v1/jobs/j1/agents")
        #expect(agents.body.contains("\"agent\":\"a\""))
        #expect(try await exporter.request("GET", "/api/v1/jobs/none/agents").status == 404)
    }

    @Test func standardInputAndFollowedFile() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("pe-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("events.jsonl")
        try Data("{\"type\":\"job_started\",\"job\":\"tailed\",\"total_items\":3}\n".utf8).write(to: file)

        let exporter = try await ExporterProcess(["--events.file", "-", "--events.file", folder.path])
        defer { exporter.stop() }
        exporter.stdin.fileHandleForWriting.write(Data("{\"type\":\"item_completed\",\"job\":\"piped\",\"agent\":\"a\"}\n".utf8))
        let handle = try FileHandle(forWritingTo: file)
        try handle.seekToEnd()
        handle.write(Data("{\"type\":\"item_completed\",\"job\":\"tailed\",\"agent\":\"b\",\"item\":\"i\"}\n".utf8))
        try handle.close()

        var metrics = ""
        for _ in 0..<100 {
            metrics = try await exporter.metrics()
            if sample(metrics, #"progress_job_items_remaining{job_name="tailed"}"#) == 2,
               sample(metrics, #"progress_job_items_processed_total{job_name="piped",outcome="completed"}"#) == 1 { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(sample(metrics, #"progress_job_items_remaining{job_name="tailed"}"#) == 2)
        #expect(sample(metrics, #"progress_job_items_processed_total{job_name="piped",outcome="completed"}"#) == 1)
        #expect(sample(metrics, #"progress_exporter_events_received_total{source="stdin"}"#) == 1)
        #expect(sample(metrics, #"progress_exporter_events_received_total{source="file"}"#) == 2)
    }

    @Test func demoRunsOnItsOwn() async throws {
        let exporter = try await ExporterProcess(["--demo", "--demo.item-seconds", "0.2"])
        defer { exporter.stop() }
        var metrics = ""
        for _ in 0..<50 {
            metrics = try await exporter.metrics()
            if metrics.contains("progress_job_eta_seconds{") { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(metrics.contains(#"progress_exporter_events_received_total{source="demo"}"#))
        #expect(metrics.contains("progress_job_eta_seconds{"))
        #expect(try promtoolComplaints(metrics) == "")
    }

    /// A follower started before the file it follows is ready: /-/ready says what it waits for, and a
    /// metric counts the patterns that match nothing yet.
    @Test func readyWhileAFilePatternWaitsForItsFileAndSaysWhich() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("pe-ready-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let pattern = folder.path + "/*.jsonl"
        let exporter = try await ExporterProcess(["--events.file", pattern])
        defer { exporter.stop() }
        let waiting = "Ready.\nWaiting, which is not a fault:\n- events.file: \(pattern): no file matches yet; it is followed from its first line when it appears\n"
        #expect(try await eventually(within: 10) { try await exporter.request("GET", "/-/ready").body == waiting })
        let before = try await exporter.request("GET", "/-/ready")
        #expect(before.status == 200 && before.body == waiting, "\(before.body)")
        #expect(try await exporter.metrics().contains("\nprogress_exporter_source_file_patterns_waiting 1\n"))
        try Data("{\"type\":\"job_started\",\"job\":\"late\"}\n".utf8).write(to: folder.appendingPathComponent("a.jsonl"))
        #expect(try await eventually(within: 10) { try await exporter.request("GET", "/-/ready").body == "Ready.\n" })
        #expect(try await exporter.metrics().contains("\nprogress_exporter_source_file_patterns_waiting 0\n"))
        #expect(try await eventually(within: 10) { try await exporter.request("GET", "/api/v1/jobs").body.contains("\"late\"") })
    }

    @Test func simulateWritesValidEventsThatTheExporterAccepts() async throws {
        let simulate = Process()
        simulate.executableURL = try ExporterProcess.binary
        simulate.arguments = ["simulate", "--jobs", "2", "--agents", "5", "--item-seconds", "0.5", "--duration", "20s", "--speed", "0"]
        let output = Pipe()
        simulate.standardOutput = output
        try simulate.run()
        let ndjson = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        simulate.waitUntilExit()
        #expect(simulate.terminationStatus == 0)
        let lines = ndjson.split(separator: "\n")
        #expect(lines.count > 100)
        let exporter = try await ExporterProcess([])
        defer { exporter.stop() }
        let answer = try await exporter.request("POST", "/events", body: ndjson)
        #expect(answer.status == 202)
        #expect(answer.body.contains("\"accepted\":\(lines.count)"))
        #expect(answer.body.contains("\"rejected\":0"))
        let metrics = try await exporter.metrics()
        #expect(sample(metrics, #"progress_job_items{job_name="etl-nightly-run1"}"#) == 3000)
    }

    func iso(_ seconds: Int) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(secondsFromGMT: 5 * 3600 + 1800)
        return formatter.string(from: Date(timeIntervalSince1970: TimeInterval(seconds)))
    }
}
