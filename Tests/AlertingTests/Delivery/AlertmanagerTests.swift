import Events
import Foundation
import Testing
@testable import Alerting

extension DeliveryTests {
    @Suite struct Alertmanager {
        @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: AlertmanagerProcess.binary)))
        func realAlertmanagerShowsTheAlertWhileFiringAndDropsItOnceResolved() async throws {
            let alertmanager = try AlertmanagerProcess()
            defer { alertmanager.stop() }
            try #require(await alertmanager.waitUntilReady())
            // A second, dead Alertmanager: one that took the alert is enough.
            let deadPort = try freePort()
            let receiver = try AlertmanagerReceiver(
                name: "am", config: AlertmanagerConfig(urls: [alertmanager.base, "http://127.0.0.1:\(deadPort)"], resendInterval: 60, timeout: 5))
            let started = Date().timeIntervalSince1970 - 120
            let firing = DeliveryTests.notification("AgentStalled", job: "etl-nightly", agent: "w7", severity: "critical", startsAt: started)
            try receiver.deliver([firing])

            var listed: [String: Any]?
            #expect(try await eventually {
                listed = try alertmanager.alerts().first { ($0["labels"] as? [String: String])?["agent"] == "w7" }
                return listed != nil
            })
            #expect(listed?["labels"] as? [String: String] == firing.labels)
            #expect(listed?["annotations"] as? [String: String] == ["summary": "no progress"])
            #expect(listed?["generatorURL"] as? String == firing.generatorURL)
            #expect((listed?["status"] as? [String: Any])?["state"] as? String == "active")
            #expect(listed?["fingerprint"] is String)
            let endsAt = try #require(listed?["endsAt"] as? String)
            let lapse = try #require(RFC3339.parseTimestamp(endsAt))
            #expect(abs(lapse - (Date().timeIntervalSince1970 + 240)) < 30)

            var resolved = firing
            resolved.status = .resolved
            resolved.endsAt = Date().timeIntervalSince1970
            try receiver.deliver([resolved])
            // A bound for a loaded CI machine: Alertmanager itself applies the resolve asynchronously.
            #expect(try await eventually(within: 30) {
                try !alertmanager.alerts("?active=true").contains { ($0["labels"] as? [String: String])?["agent"] == "w7" }
            })
        }
    }
}
