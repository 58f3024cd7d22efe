import Foundation
import Testing
import TestSupport
@testable import Alerting

extension DeliveryTests {
    @Suite struct Webhook {
        @Test func postsOneVersion4PayloadPerGroup() throws {
            let server = try WebhookRecorder()
            defer { server.stop() }
            let receiver = try WebhookReceiver(
                name: "hook",
                config: WebhookConfig(url: server.url, groupBy: ["job_name"], bearerToken: "s3cret", externalURL: "http://exporter:9465"))
            try receiver.deliver([
                DeliveryTests.notification(job: "etl", agent: "a"),
                DeliveryTests.notification(job: "ingest", agent: "b"),
                DeliveryTests.notification("AgentLost", job: "etl", agent: "c", status: .resolved, startsAt: 1_700_000_000, endsAt: 1_700_000_060),
            ])
            let requests = server.requests()
            #expect(requests.count == 2)
            #expect(requests.allSatisfy { $0.path == "/hook" && $0.authorization == "Bearer s3cret" && $0.contentType == "application/json" })
            let bodies = try requests.map { try DeliveryTests.object($0.body) }.sorted { "\($0["groupKey"]!)" < "\($1["groupKey"]!)" }
            let etl = bodies[0]
            #expect(etl["version"] as? String == "4")
            #expect(etl["groupKey"] as? String == #"{}:{job_name="etl"}"#)
            #expect(etl["status"] as? String == "firing")
            #expect(etl["receiver"] as? String == "hook")
            #expect(etl["externalURL"] as? String == "http://exporter:9465")
            #expect(etl["groupLabels"] as? [String: String] == ["job_name": "etl"])
            #expect(etl["commonLabels"] as? [String: String] == ["job_name": "etl", "severity": "warning"])
            let alerts = try #require(etl["alerts"] as? [[String: Any]])
            #expect(alerts.map { $0["status"] as? String } == ["firing", "resolved"])
            #expect(alerts.map { $0["endsAt"] as? String } == ["0001-01-01T00:00:00Z", "2023-11-14T22:14:20.000Z"])
            #expect(alerts[1]["fingerprint"] as? String == DeliveryTests.notification("AgentLost", job: "etl", agent: "c").fingerprint)
            #expect((bodies[1]["alerts"] as? [Any])?.count == 1)
        }

        @Test func resolvedAlertsStayHomeWhenSendResolvedIsOff() throws {
            let server = try WebhookRecorder()
            defer { server.stop() }
            let receiver = try WebhookReceiver(
                name: "hook",
                config: WebhookConfig(url: server.url, sendResolved: false, basicAuth: BasicAuth(username: "u", password: "p")))
            try receiver.deliver([DeliveryTests.notification(agent: "a"), DeliveryTests.notification(agent: "b", status: .resolved)])
            try receiver.deliver([DeliveryTests.notification(agent: "c", status: .resolved)])
            let requests = server.requests()
            #expect(requests.count == 1)
            #expect(requests.first?.authorization == "Basic dTpw")
            let alerts = try #require(try DeliveryTests.object(requests[0].body)["alerts"] as? [[String: Any]])
            #expect(alerts.map { ($0["labels"] as? [String: String])?["agent"] } == ["a"])
        }

        @Test func slowEndpointTimesOutAsRetryable() throws {
            let server = try WebhookRecorder(delay: 3)
            defer { server.stop() }
            let receiver = try WebhookReceiver(name: "hook", config: WebhookConfig(url: server.url, timeout: 0.5))
            let started = Date()
            let error = #expect(throws: DeliveryError.self) { try receiver.deliver([DeliveryTests.notification()]) }
            #expect(error?.retryable == true)
            #expect(Date().timeIntervalSince(started) < 2.5)
        }

        @Test func serverErrorIsRetriedUntilDeliveredOnce() async throws {
            let server = try WebhookRecorder(failFirst: 1, failStatus: 500)
            defer { server.stop() }
            let dispatcher = NotificationDispatcher(
                receivers: [try WebhookReceiver(name: "hook", config: WebhookConfig(url: server.url))],
                options: Dispatcher.options())
            dispatcher.start()
            defer { dispatcher.stop() }
            dispatcher.enqueue([DeliveryTests.notification()], to: "hook")
            #expect(await eventually { dispatcher.stats()[receiver: "hook"]?.success == 1 })
            let stats = dispatcher.stats()[receiver: "hook"]
            #expect(stats?.retried == 1)
            #expect(stats?.failed == 0)
            #expect(server.requests().map(\.status) == [500, 200])
            #expect(server.acceptedBodies().count == 1)
        }

        @Test func clientErrorIsFinal() async throws {
            let server = try WebhookRecorder(failFirst: 1, failStatus: 400)
            defer { server.stop() }
            let failures = DeliveryTests.Lines()
            var options = Dispatcher.options()
            options.onFailure = { _, error, willRetry in failures.append("\(error.statusCode ?? 0) \(willRetry) \(error.message)") }
            let dispatcher = NotificationDispatcher(
                receivers: [try WebhookReceiver(name: "hook", config: WebhookConfig(url: server.url))], options: options)
            dispatcher.start()
            defer { dispatcher.stop() }
            dispatcher.enqueue([DeliveryTests.notification(agent: "a"), DeliveryTests.notification(agent: "b")], to: "hook")
            #expect(await eventually { dispatcher.stats()[receiver: "hook"]?.failed == 2 })
            #expect(dispatcher.stats()[receiver: "hook"]?.retried == 0)
            #expect(server.requests().count == 1)
            #expect(failures.all.first?.hasPrefix("400 false http://127.0.0.1:\(server.port)/hook answered HTTP 400: refused by test second line") == true)
        }

        @Test func receiverThatWasDownGetsTheQueuedNotificationsWhenItComesBack() async throws {
            let port = try freePort()
            let dispatcher = NotificationDispatcher(
                receivers: [try WebhookReceiver(name: "hook", config: WebhookConfig(url: "http://127.0.0.1:\(port)/hook"))],
                options: Dispatcher.options())
            dispatcher.start()
            defer { dispatcher.stop() }
            dispatcher.enqueue((1...3).map { DeliveryTests.notification(agent: "a\($0)") }, to: "hook")
            #expect(await eventually { (dispatcher.stats()[receiver: "hook"]?.retried ?? 0) >= 2 })
            #expect(dispatcher.stats()[receiver: "hook"]?.success == 0)
            let server = try WebhookRecorder(port: port)
            defer { server.stop() }
            #expect(await eventually { dispatcher.stats()[receiver: "hook"]?.success == 3 })
            let alerts = server.acceptedBodies().flatMap { $0["alerts"] as? [[String: Any]] ?? [] }
            #expect(alerts.map { ($0["labels"] as? [String: String])?["agent"] } == ["a1", "a2", "a3"])
            #expect(dispatcher.stats()[receiver: "hook"]?.queueLength == 0)
        }
    }
}
