import Clocks
import Foundation
import TestSupport
import Testing
import Tracking
@testable import ExporterApp

/// The exporter's clock set back an hour (an NTP step, a restored VM): what is judged on it, expiry and
/// alert evaluation, goes on for the events that come after. (That the loops themselves wait on the
/// monotonic clock, which no test here can step, is what `scripts/check-structure.sh` holds: no date is
/// read outside the wall clock.)
@Suite struct WallClockStepTests {
    @Test func settingTheExportersClockBackAnHourLeavesExpiryAndAlertsRunning() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("clock-step-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let config = folder.appendingPathComponent("config.yml")
        try """
            evaluation_interval: 200ms
            rules:
              - alert: AgentStalled
                kind: agent_stalled
                after: 30s
                for: 0s
                severity: warning
            receivers:
              - name: log
                log: {}
            """.write(to: config, atomically: true, encoding: .utf8)
        var options = ExporterOptions()
        options.listenAddress = "127.0.0.1:0"
        options.configFile = config.path
        options.tickInterval = 0.1
        options.store.agentRetention = 60
        let t0 = 1_800_000_000.0
        let clock = ManualClock(t0)
        let exporter = try Exporter(options: options, clock: clock)
        try exporter.start()
        defer { exporter.stop() }

        func stalled(_ agent: String) -> Bool {
            exporter.alerting.engine.activeAlerts().contains { $0.condition.labels["agent"] == agent && $0.state == .firing }
        }
        func known(_ agent: String) -> Bool {
            exporter.store.agentSummaries(job: "etl")?.contains { $0.agent == agent } ?? false
        }

        // Before the step: an agent that goes quiet is alerted on.
        exporter.ingestor.ingestNative(Array(#"{"type":"agent_started","job":"etl","agent":"before","item":"a"}"#.utf8), source: "http")
        clock.advance(45)
        #expect(await eventually(within: 10) { stalled("before") })

        // The wall clock is set back an hour (an NTP step, a VM restored): new events carry the new time.
        clock.set(t0 - 3600)
        exporter.ingestor.ingestNative(Array(#"{"type":"agent_started","job":"etl","agent":"after","item":"b"}"#.utf8), source: "http")
        #expect(known("after"))
        clock.advance(45)
        #expect(await eventually(within: 10) { stalled("after") }, "alert evaluation goes on after the step")

        // Expiry goes on too: past the retention on the new time, the quiet agent is forgotten.
        clock.advance(3600 + 120)
        #expect(await eventually(within: 10) { !known("after") }, "expiry goes on after the step")
    }
}
