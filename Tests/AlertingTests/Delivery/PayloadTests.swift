import Foundation
import Testing
@testable import Alerting

extension DeliveryTests {
    @Suite struct Payloads {
        @Test func webhookGroupsByTheGroupByLabelsInOrderOfFirstAppearance() {
            let batch = [
                DeliveryTests.notification(job: "etl", agent: "a"),
                DeliveryTests.notification(job: "ingest", agent: "b"),
                DeliveryTests.notification("AgentLost", job: "etl", agent: "c", severity: "critical", status: .resolved),
            ]
            let messages = WebhookMessage.groups(batch, groupBy: ["job_name"], receiver: "hook", externalURL: "http://x")
            #expect(messages.map(\.groupLabels) == [["job_name": "etl"], ["job_name": "ingest"]])
            #expect(messages.map(\.groupKey) == [#"{}:{job_name="etl"}"#, #"{}:{job_name="ingest"}"#])
            #expect(messages[0].alerts.map { $0.labels["agent"] } == ["a", "c"])
            #expect(messages[0].status == "firing")
            #expect(messages[0].commonLabels == ["job_name": "etl"])
            #expect(messages[1].commonLabels == batch[1].labels)
            #expect(messages[1].commonAnnotations == ["summary": "no progress"])
        }

        @Test func groupByJobIsADeprecatedAliasOfJobNameUnlessTheAlertHasAJobLabel() {
            let batch = [
                DeliveryTests.notification(job: "etl", agent: "a"),
                DeliveryTests.notification(job: "ingest", agent: "b"),
                DeliveryTests.notification(job: "etl", agent: "c", extra: ["job": "progress-exporter"]),
            ]
            let messages = WebhookMessage.groups(batch, groupBy: ["job"], receiver: "hook", externalURL: "")
            // Groups keep the name the config asked for, as Alertmanager's group labels do.
            #expect(messages.map(\.groupLabels) == [["job": "etl"], ["job": "ingest"], ["job": "progress-exporter"]])
            #expect(messages.map { $0.alerts.map { $0.labels["agent"] } } == [["a"], ["b"], ["c"]])
        }

        @Test func webhookWithoutGroupBySendsOneGroupAndAlertsLackingALabelGroupTogether() {
            let batch = [DeliveryTests.notification(agent: "a"), DeliveryTests.notification("JobStalled", agent: nil)]
            #expect(WebhookMessage.groups(batch, groupBy: [], receiver: "r", externalURL: "").count == 1)
            let byAgent = WebhookMessage.groups(batch, groupBy: ["agent"], receiver: "r", externalURL: "")
            #expect(byAgent.map(\.groupLabels) == [["agent": "a"], [:]])
            #expect(byAgent[1].groupKey == "{}:{}")
        }

        @Test func webhookAlertEndsAtIsGoZeroTimeWhileFiring() {
            let firing = WebhookMessage.Alert(DeliveryTests.notification(startsAt: 1_700_000_000))
            #expect(firing.endsAt == "0001-01-01T00:00:00Z")
            #expect(firing.startsAt == "2023-11-14T22:13:20.000Z")
            let resolved = WebhookMessage.Alert(DeliveryTests.notification(status: .resolved, startsAt: 1_700_000_000, endsAt: 1_700_000_090.5))
            #expect(resolved.endsAt == "2023-11-14T22:14:50.500Z")
            #expect(resolved.status == "resolved")
            #expect(resolved.fingerprint == DeliveryTests.notification().fingerprint)
        }

        @Test func webhookMessageEncodesEveryVersion4Field() throws {
            let message = WebhookMessage(receiver: "hook", groupLabels: [:], notifications: [DeliveryTests.notification()], externalURL: "http://exporter")
            let object = try DeliveryTests.object(try DeliveryJSON.encode(message))
            #expect(Set(object.keys) == [
                "version", "groupKey", "truncatedAlerts", "status", "receiver", "groupLabels", "commonLabels",
                "commonAnnotations", "externalURL", "alerts",
            ])
            #expect(object["version"] as? String == "4")
            #expect(object["truncatedAlerts"] as? Int == 0)
            let alert = try #require((object["alerts"] as? [[String: Any]])?.first)
            #expect(Set(alert.keys) == ["status", "labels", "annotations", "startsAt", "endsAt", "generatorURL", "fingerprint"])
            #expect(alert["generatorURL"] as? String == "http://127.0.0.1:9465/api/v1/alerts")
        }

        @Test func alertmanagerFiringAlertLapsesAfterFourResendIntervals() {
            let firing = PostableAlert(DeliveryTests.notification(startsAt: 1_700_000_000), now: 1_700_000_100, resendInterval: 60)
            #expect(firing.startsAt == "2023-11-14T22:13:20.000Z")
            #expect(firing.endsAt == RFC3339Text.milliseconds(1_700_000_100 + 240))
            let resolved = PostableAlert(
                DeliveryTests.notification(status: .resolved, startsAt: 1_700_000_000, endsAt: 1_700_000_050),
                now: 1_700_000_100, resendInterval: 60)
            #expect(resolved.endsAt == RFC3339Text.milliseconds(1_700_000_050))
        }
    }
}
