import Foundation
import Testing
import TestSupport

/// The real binary and a real webhook receiver: alerts that must not fire (a finished job's quiet
/// agents, a year-old log, a ratio at its threshold), one that must fire in time (a hung item in a
/// job of short items), and delivery that honours `Retry-After` and refuses a cut-off answer.
@Suite(.serialized) struct AlertNoiseEndToEndTests {
    static func folder(_ name: String) throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("pe-\(name)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    /// A config with `rules` and one webhook receiver that also hears of resolved alerts.
    static func config(_ rules: String, hook: WebhookRecorder, in folder: URL) throws -> URL {
        let file = folder.appendingPathComponent("config.yml")
        try """
            evaluation_interval: 1s
            rules:
            \(rules)
            receivers:
              - name: hook
                webhook: {url: "\(hook.url)", send_resolved: true, timeout: 5s}
            """.write(to: file, atomically: true, encoding: .utf8)
        return file
    }

    func post(_ exporter: ExporterProcess, _ lines: [String]) async throws {
        let answer = try await exporter.request("POST", "/events", body: lines.joined(separator: "\n") + "\n")
        #expect(answer.status / 100 == 2, "\(answer.body)")
    }

    @Test func aFinishedJobsQuietAgentsRaiseNothingWhileAQuietAgentWithWorkLeftIsLost() async throws {
        let folder = try Self.folder("finished")
        defer { try? FileManager.default.removeItem(at: folder) }
        let hook = try WebhookRecorder()
        let rules = """
              - {kind: agent_lost, after: auto, after_floor: 2s}
              - {kind: agent_stalled, after: auto, after_floor: 2s, for: 0s}
            """
        let exporter = try await ExporterProcess(["--config.file", try Self.config(rules, hook: hook, in: folder).path])
        defer { exporter.stop() }
        // "done": 2 planned, both finished, no job_completed. "open": 3 planned, 1 finished, its agent quiet.
        try await post(exporter, [
            #"{"type":"job_started","job":"done","total_items":2}"#,
            #"{"type":"agent_started","job":"done","agent":"a","item":"1"}"#,
            #"{"type":"agent_started","job":"done","agent":"b","item":"2"}"#,
            #"{"type":"item_completed","job":"done","agent":"a","item":"1","duration_seconds":0.2}"#,
            #"{"type":"item_completed","job":"done","agent":"b","item":"2","duration_seconds":0.2}"#,
            #"{"type":"job_started","job":"open","total_items":3}"#,
            #"{"type":"agent_started","job":"open","agent":"c","item":"1"}"#,
            #"{"type":"item_completed","job":"open","agent":"c","item":"1","duration_seconds":0.2}"#,
        ])
        #expect(await eventually(within: 15) { hook.acceptedAlerts().contains { $0.labels["agent"] == "c" } }, "the control: c is quiet with work left")
        try await Task.sleep(for: .seconds(2))
        let alerts = hook.acceptedAlerts()
        #expect(!alerts.contains { $0.labels["job_name"] == "done" }, "\(alerts.map(\.labels))")
        let jobs = try await exporter.request("GET", "/api/v1/jobs").body
        #expect(jobs.contains(#""all_items_finished":true"#), "\(jobs)")
    }

    @Test func aYearOldLogRaisesNothingAndItsJobIsCountedAsForgotten() async throws {
        let folder = try Self.folder("year-old")
        defer { try? FileManager.default.removeItem(at: folder) }
        let hook = try WebhookRecorder()
        let yearAgo = Date().timeIntervalSince1970 - 365 * 86_400
        let log = folder.appendingPathComponent("events.jsonl")
        try """
            {"type":"job_started","job":"last-year","total_items":10,"ts":\(yearAgo)}
            {"type":"agent_started","job":"last-year","agent":"a","item":"1","ts":\(yearAgo + 1)}
            {"type":"item_failed","job":"last-year","agent":"a","item":"1","error":"boom","retryable":true,"ts":\(yearAgo + 2)}
            {"type":"item_failed","job":"last-year","agent":"a","item":"1","error":"boom","retryable":true,"ts":\(yearAgo + 3)}
            {"type":"item_failed","job":"last-year","agent":"a","item":"1","error":"boom","retryable":true,"ts":\(yearAgo + 4)}

            """.write(to: log, atomically: true, encoding: .utf8)
        let rules = """
              - {kind: agent_lost, after: 1s}
              - {kind: agent_failing, for: 0s}
            """
        let exporter = try await ExporterProcess(["--config.file", try Self.config(rules, hook: hook, in: folder).path, "--events.file", log.path])
        #expect(try await eventually(within: 10) {
            sample(try await exporter.metrics(), "progress_exporter_jobs_forgotten_on_arrival_total") == 1
        })
        try await Task.sleep(for: .seconds(3))
        #expect(hook.requests().isEmpty, "no notification for history: \(hook.requests().flatMap(\.alerts).map(\.labels))")
        exporter.stop()
        let lines = exporter.fullLog().split(separator: "\n").filter { $0.contains("job forgotten on arrival") }
        #expect(lines.count == 1 && lines.first?.contains("job_name=last-year") == true && lines.first?.contains("silent-retention") == true, "\(lines)")
    }

    /// The default AgentStalled (after: auto, for 15s) on a job of 0.5 s items whose one worker hangs.
    @Test func aHungItemInAJobOfShortItemsFiresWithinAMinute() async throws {
        let folder = try Self.folder("hang")
        defer { try? FileManager.default.removeItem(at: folder) }
        let hook = try WebhookRecorder()
        let exporter = try await ExporterProcess(["--config.file", try Self.config("  - {kind: agent_stalled}", hook: hook, in: folder).path])
        defer { exporter.stop() }
        let now = Date().timeIntervalSince1970
        var lines = [#"{"type":"job_started","job":"short","total_items":1000,"ts":\#(now - 30)}"#]
        for n in 0..<40 {
            let t = now - 30 + Double(n) * 0.5
            lines.append(#"{"type":"agent_started","job":"short","agent":"w","item":"\#(n)","ts":\#(t)}"#)
            lines.append(#"{"type":"item_completed","job":"short","agent":"w","item":"\#(n)","ts":\#(t + 0.5)}"#)
        }
        lines.append(#"{"type":"agent_started","job":"short","agent":"w","item":"hung"}"#)
        let hungAt = Date()
        try await post(exporter, lines)
        #expect(await eventually(within: 70) { hook.acceptedAlerts().contains { $0.labels["alertname"] == "AgentStalled" } })
        let flaggedAfter = Date().timeIntervalSince(hungAt)
        print("hung 0.5 s item flagged after \(flaggedAfter) s (floor 30 s + for 15 s)")
        #expect(flaggedAfter < 60 && flaggedAfter > 44, "\(flaggedAfter) s")
    }

    @Test func agentFailingAtItsThresholdFiresOnceAndNeverResolvesAndFiresAgain() async throws {
        let folder = try Self.folder("failing")
        defer { try? FileManager.default.removeItem(at: folder) }
        let hook = try WebhookRecorder()
        // keep_firing_for as the default (1m) but for: 0s, so the test need not wait a minute to fire.
        let rules = "  - {kind: agent_failing, consecutive_failures: 0, failure_ratio: 0.5, min_attempts: 2, for: 0s}"
        let exporter = try await ExporterProcess(["--config.file", try Self.config(rules, hook: hook, in: folder).path])
        defer { exporter.stop() }
        // The ratio crosses 0.5 back and forth every second: above after a failure, at 0.5 after a success.
        for n in 0..<8 {
            let type = n % 2 == 0 ? #""type":"item_failed","retryable":true,"error":"flaky""# : #""type":"item_completed""#
            try await post(exporter, [#"{\#(type),"job":"j","agent":"a","item":"\#(n)"}"#])
            try await Task.sleep(for: .milliseconds(1100))
        }
        let statuses = hook.acceptedAlerts().filter { $0.labels["alertname"] == "AgentFailing" }.map(\.status)
        #expect(statuses == ["firing"], "one page, no fire-resolve pairs: \(statuses)")
    }

    /// kill -9 right after an alert fired, long before the next snapshot: the restarted exporter
    /// announces nothing again, and the alert resolves later with the `startsAt` it fired with.
    @Test func killMinusNineRightAfterAFireNeitherAnnouncesItAgainNorChangesItsStartsAt() async throws {
        let folder = try Self.folder("kill9")
        defer { try? FileManager.default.removeItem(at: folder) }
        let hook = try WebhookRecorder()
        let config = try Self.config("  - {kind: agent_lost, after: 1s}", hook: hook, in: folder)
        let storage = folder.appendingPathComponent("state").path
        let arguments = ["--config.file", config.path, "--storage.path", storage, "--storage.journal", "--storage.snapshot-interval", "1h"]
        var exporter = try await ExporterProcess(arguments)
        // With its time: an event without one is placed at its arrival, and so again at the journal's replay.
        try await post(exporter, [#"{"type":"agent_started","job":"j","agent":"a","item":"1","ts":\#(Date().timeIntervalSince1970)}"#])
        #expect(await eventually(within: 15) { !hook.acceptedAlerts().isEmpty })
        kill(exporter.process.processIdentifier, SIGKILL)
        exporter.process.waitUntilExit()

        exporter = try await ExporterProcess(arguments)
        defer { exporter.stop() }
        // The agent is still lost (its event came back from the events journal): the alert holds.
        #expect(await eventually(within: 10) { (try? await exporter.request("GET", "/api/v1/alerts").body.contains(#""state":"firing""#)) == true })
        try await Task.sleep(for: .seconds(3))
        let fired = hook.acceptedAlerts()
        #expect(fired.map(\.status) == ["firing"], "announced once: \(fired.map(\.status))")
        try await post(exporter, [#"{"type":"agent_heartbeat","job":"j","agent":"a"}"#])
        #expect(await eventually(within: 10) { hook.acceptedAlerts().contains { $0.status == "resolved" } })
        // Up to the resolve: with `after: 1s` the silent agent is lost again a second later, and a new
        // alert (a new startsAt) may already have fired by the time the log is read under load.
        let all = hook.acceptedAlerts()
        let untilResolved = Array(all.prefix { $0.status != "resolved" }) + all.filter { $0.status == "resolved" }.prefix(1)
        #expect(untilResolved.map(\.status) == ["firing", "resolved"], "\(all.map(\.status))")
        #expect(Set(untilResolved.map(\.startsAt)).count == 1, "one startsAt: \(untilResolved.map(\.startsAt))")
    }

    @Test func deliveryWaitsAsRetryAfterSaysAndRetriesACutOffAnswer() async throws {
        let folder = try Self.folder("retry-after")
        defer { try? FileManager.default.removeItem(at: folder) }
        // The first answer is cut off in its headers, the second a 429 asking for 3 s.
        let hook = try WebhookRecorder(throttleFirst: 1, retryAfter: "3", cutFirst: 1)
        let exporter = try await ExporterProcess(["--config.file", try Self.config("  - {kind: agent_lost, after: 1s}", hook: hook, in: folder).path])
        defer { exporter.stop() }
        try await post(exporter, [#"{"type":"agent_started","job":"j","agent":"a","item":"1"}"#])
        #expect(await eventually(within: 20) { hook.requests().contains { $0.status == 200 } })
        let requests = hook.requests()
        #expect(requests.map(\.status).prefix(3) == [0, 429, 200], "\(requests.map(\.status))")
        if requests.count >= 3 {
            let waited = requests[2].time - requests[1].time
            print("after Retry-After: 3 the next try came \(waited) s later")
            #expect(waited >= 2.9 && waited < 6, "\(waited) s")
        }
        let metrics = try await exporter.metrics()
        #expect(sample(metrics, #"progress_exporter_alert_notifications_total{receiver="hook",result="retried"}"#) == 2)
    }
}
