import Events
import Exposition
import Testing
import Tracking
@testable import Alerting

@Suite struct AlertEngineTests {
    let t0 = 1_800_000_000.0

    @Test func stalledAgentFiresResendsAndResolvesThroughRoutes() {
        let clock = ManualClock(t0)
        let store = ProgressStore(clock: clock)
        let sink = RecordingSink()
        let setup = AlertingSetup(
            rules: stalledForAMinuteRules,
            routes: [AlertRoute(receiver: "am", match: ["severity": "warning"], continueMatching: true), AlertRoute(receiver: "hook")],
            receivers: ["log", "am", "hook"], resendIntervals: ["am": 60], externalURL: "http://exporter:9465")
        let engine = AlertEngine(store: store, setup: setup, sink: sink)
        feed(store, clock, [event(.agentStarted, "j", "a", at: t0)])
        for second in stride(from: 0.0, through: 360, by: 1) {
            feed(store, clock, [event(.agentHeartbeat, "j", "a", at: t0 + second)])
            clock.set(t0 + second)
            engine.evaluate()
        }
        // Quiet for > 300 s at +301, pending for 60 s: fires at +361, not yet.
        #expect(sink.all.isEmpty)
        #expect(engine.activeAlerts().map(\.state) == [.pending])
        clock.set(t0 + 361)
        engine.evaluate()
        let fired = sink.take()
        #expect(fired.map(\.receiver) == ["am", "hook"], "warning matches am and continues to hook")
        #expect(fired.first?.notification.status == .firing)
        #expect(fired.first?.notification.startsAt == t0 + 301)
        #expect(fired.first?.notification.generatorURL == "http://exporter:9465/api/v1/alerts")
        #expect(engine.agentsWithAlerts()("j", "a"))

        clock.set(t0 + 400)
        engine.evaluate()
        #expect(sink.take().isEmpty)
        clock.set(t0 + 421)
        engine.evaluate()
        #expect(sink.take().map(\.receiver) == ["am"], "Alertmanager gets firing alerts again every resend interval")

        feed(store, clock, [event(.agentProgress, "j", "a", at: t0 + 422) { $0.progress = 0.5 }])
        clock.set(t0 + 422)
        engine.evaluate()
        let resolved = sink.take()
        #expect(resolved.map(\.receiver) == ["am", "hook"])
        #expect(resolved.allSatisfy { $0.notification.status == .resolved && $0.notification.endsAt == t0 + 422 })
        #expect(engine.activeAlerts().isEmpty)
        #expect(!engine.agentsWithAlerts()("j", "a"))
    }

    @Test func theActiveVersionMovesWhenAlertsComeFireOrGoButNotWithTheirValues() {
        let clock = ManualClock(t0)
        let store = ProgressStore(clock: clock)
        let engine = AlertEngine(store: store, setup: AlertingSetup(rules: stalledForAMinuteRules, routes: [], receivers: ["log"], externalURL: ""), sink: RecordingSink())
        feed(store, clock, [event(.agentStarted, "j", "a", at: t0)])
        var versions: [UInt64] = []
        for second in [0.0, 100, 302, 330, 361, 380] {
            feed(store, clock, [event(.agentHeartbeat, "j", "a", at: t0 + second)])
            clock.set(t0 + second)
            engine.evaluate()
            versions.append(engine.activeVersion)
        }
        // Nothing, nothing, pending (from +302), pending (its value grew), still pending (fires at +362), firing.
        #expect(versions == [0, 0, 1, 1, 1, 2])
        feed(store, clock, [event(.agentProgress, "j", "a", at: t0 + 381) { $0.progress = 0.5 }])
        clock.set(t0 + 381)
        engine.evaluate()
        #expect(engine.activeVersion == 3, "resolved")
    }

    @Test func unmatchedAlertsGoToTheFirstReceiverAndNoRoutesMeansAll() {
        #expect(AlertRoute.receivers(for: ["severity": "info"], routes: [AlertRoute(receiver: "b", match: ["severity": "critical"])], receivers: ["a", "b"]) == ["a"])
        #expect(AlertRoute.receivers(for: [:], routes: [], receivers: ["a", "b"]) == ["a", "b"])
        #expect(AlertRoute.receivers(for: ["team": "x"], routes: [AlertRoute(receiver: "b", match: ["team": "x"]), AlertRoute(receiver: "a")], receivers: ["a", "b"]) == ["b"])
    }

    @Test func matchOnJobIsADeprecatedAliasOfJobNameUnlessTheAlertHasAJobLabel() {
        let routes = [AlertRoute(receiver: "b", match: ["job": "etl"])]
        #expect(AlertRoute.receivers(for: ["job_name": "etl"], routes: routes, receivers: ["a", "b"]) == ["b"])
        #expect(AlertRoute.receivers(for: ["job_name": "crawl"], routes: routes, receivers: ["a", "b"]) == ["a"])
        #expect(AlertRoute.receivers(for: ["job_name": "etl", "job": "progress-exporter"], routes: routes, receivers: ["a", "b"]) == ["a"],
                "a rule's own job label is what match means by job")
        #expect(AlertRoute.receivers(for: ["job_name": "etl"], routes: [AlertRoute(receiver: "b", match: ["job_name": "etl"])], receivers: ["a", "b"]) == ["b"])
    }

    @Test func activeAlertsAreExported() {
        let clock = ManualClock(t0)
        let store = ProgressStore(clock: clock)
        let engine = AlertEngine(store: store, setup: AlertingSetup(rules: stalledForAMinuteRules, routes: [], receivers: ["log"], externalURL: ""), sink: RecordingSink())
        feed(store, clock, [event(.agentStarted, "j", "a", at: t0)])
        clock.set(t0 + 400)
        engine.evaluate()
        var writer = ExpositionWriter(format: .prometheusText)
        engine.collect(into: &writer)
        let text = String(decoding: writer.finish(), as: UTF8.self)
        #expect(text.contains(#"progress_alert_active{alertname="AgentLost",severity="critical",job_name="j",agent="a",state="firing"} 1"#))
        #expect(text.contains(#"progress_alert_active{alertname="AgentStalled",severity="warning",job_name="j",agent="a",state="pending"} 1"#))
    }

    /// Scrapes reuse the alert lines and kept agents until the active alerts change; every change
    /// (pending, firing, resolved) must show in the next scrape.
    @Test func theExportedAlertsFollowEveryChange() {
        let clock = ManualClock(t0)
        let store = ProgressStore(clock: clock)
        let engine = AlertEngine(store: store, setup: AlertingSetup(rules: stalledForAMinuteRules, routes: [], receivers: ["log"], externalURL: ""), sink: RecordingSink())
        func scrape() -> (lines: [String], kept: Bool) {
            var writer = ExpositionWriter(format: .prometheusText)
            engine.collect(into: &writer)
            let lines = String(decoding: writer.finish(), as: UTF8.self).split(separator: "\n").map(String.init).filter { !$0.hasPrefix("#") }
            return (lines, engine.agentsWithAlerts()("j", "a"))
        }
        feed(store, clock, [event(.agentHeartbeat, "j", "a", at: t0)])
        engine.evaluate()
        #expect(scrape().lines.isEmpty)
        #expect(scrape().kept == false)
        var seen: [[String]] = []
        for second in [302.0, 330, 380] {
            feed(store, clock, [event(.agentHeartbeat, "j", "a", at: t0 + second)])
            clock.set(t0 + second)
            engine.evaluate()
            let now = scrape()
            #expect(now.kept, "an agent with an alert stays in the sample")
            seen.append(now.lines)
        }
        #expect(seen[0] == [#"progress_alert_active{alertname="AgentStalled",severity="warning",job_name="j",agent="a",state="pending"} 1"#])
        #expect(seen[1] == seen[0], "unchanged")
        #expect(seen[2] == [#"progress_alert_active{alertname="AgentStalled",severity="warning",job_name="j",agent="a",state="firing"} 1"#])
        feed(store, clock, [event(.agentProgress, "j", "a", at: t0 + 381) { $0.progress = 0.5 }])
        clock.set(t0 + 381)
        engine.evaluate()
        #expect(scrape().lines.isEmpty, "resolved")
        #expect(scrape().kept == false)
    }
}
