import ConfigFiles
import Events
import Testing
import Tracking
@testable import Alerting

/// What must not page: idle agents of a job with nothing left, history read late, one evaluation
/// crossing a threshold; and thresholds that follow the job's own item durations.
@Suite struct AlertNoiseTests {
    let t0 = 1_800_000_000.0
    let clock = ManualClock(1_800_000_000)
    let store: ProgressStore

    init() { store = ProgressStore(clock: clock) }

    func names(_ rules: [AlertRule] = AlertRule.defaults, at t: Double) -> [String] {
        clock.set(t)
        let evaluator = RuleEvaluator(rules: rules)
        var found: [AlertCondition] = []
        store.forEachJob { job, now in found += evaluator.evaluate(job: job, now: now) }
        return found.map { "\($0.labels["alertname"]!):\($0.labels["agent"] ?? "-")" }.sorted()
    }

    /// `count` items of `seconds` each, finished one after the other by `agent` from `start`.
    func items(_ job: String, _ agent: String, count: Int, seconds: Double, from start: Double) -> [Event] {
        (0..<count).flatMap { n -> [Event] in
            let begin = start + Double(n) * seconds
            return [event(.agentStarted, job, agent, at: begin) { $0.item = "\(agent)-\(n)" },
                    event(.itemCompleted, job, agent, at: begin + seconds) { $0.item = "\(agent)-\(n)"; $0.durationSeconds = seconds }]
        }
    }

    @Test func idleAgentsOfAJobWithAllItemsFinishedRaiseNothing() {
        feed(store, clock, [event(.jobStarted, "j", at: t0) { $0.totalItems = 4 }]
             + items("j", "a", count: 2, seconds: 10, from: t0) + items("j", "b", count: 2, seconds: 10, from: t0))
        // No job_completed: the job stays running, its agents go quiet for good.
        #expect(store.jobSummaries().first?.status == "running")
        #expect(names(at: t0 + 3600 * 0.9).isEmpty)
    }

    @Test func anAgentHoldingAnItemInAFinishedJobAndAQuietAgentInAJobWithWorkAreJudgedAsBefore() {
        feed(store, clock, [event(.jobStarted, "done", at: t0) { $0.totalItems = 1 }, event(.jobStarted, "busy", at: t0) { $0.totalItems = 3 }]
             + items("done", "a", count: 1, seconds: 10, from: t0) + items("busy", "c", count: 1, seconds: 10, from: t0))
        // A stray re-run of an item after the total was reached, and an agent idle while work remains.
        feed(store, clock, [event(.agentStarted, "done", "b", at: t0 + 20) { $0.item = "again" }])
        #expect(names(at: t0 + 331) == ["AgentLost:b", "AgentLost:c", "AgentStalled:b", "AgentStalled:c"])
    }

    @Test func aJobWhoseNewestEventIsOlderThanTheSilentRetentionRaisesNothing() {
        let yearAgo = t0 - 365 * 86_400
        feed(store, clock, [event(.jobStarted, "old", at: yearAgo) { $0.totalItems = 10 }, event(.agentStarted, "old", "a", at: yearAgo) { $0.item = "x" }])
        clock.set(t0)
        #expect(names(at: t0).isEmpty, "history: state is kept until upkeep forgets it, but nothing fires")
    }

    @Test func anAgentSilentLongerThanTheAgentRetentionRaisesNothing() {
        // Two hours old: the job is within --jobs.silent-retention, its agent past --agents.retention (1h).
        feed(store, clock, [event(.jobStarted, "j", at: t0 - 7200) { $0.totalItems = 10 }, event(.agentStarted, "j", "a", at: t0 - 7200) { $0.item = "x" }])
        clock.set(t0)
        #expect(names(at: t0).filter { $0.hasPrefix("Agent") }.isEmpty, "the next upkeep forgets the agent")
    }

    @Test func autoAfterFollowsShortItems() {
        // 0.5 s items, then one hangs: stalled once quiet for the 30 s floor (3 x p99 is 1.5 s).
        let start = t0
        feed(store, clock, items("short", "a", count: 100, seconds: 0.5, from: start))
        let hungAt = start + 50
        feed(store, clock, [event(.agentStarted, "short", "a", at: hungAt) { $0.item = "hung" }])
        let stalled = AlertRule.defaults.filter { $0.kind == .agentStalled }
        #expect(names(stalled, at: hungAt + 30).isEmpty, "exactly the floor is not longer")
        #expect(names(stalled, at: hungAt + 31) == ["AgentStalled:a"])
    }

    @Test func autoAfterFollowsLongItems() {
        // 15-minute items: the threshold is 3 x 15m = 45m, not 5m. (A threshold past --agents.retention,
        // 1h, never fires: the agent is forgotten first.)
        feed(store, clock, items("long", "a", count: 2, seconds: 900, from: t0))
        let begin = t0 + 1800
        feed(store, clock, [event(.agentStarted, "long", "a", at: begin) { $0.item = "third" }])
        let rules = AlertRule.defaults.filter { $0.kind == .agentStalled || $0.kind == .agentLost }
        #expect(names(rules, at: begin + 301).isEmpty)
        #expect(names(rules, at: begin + 2700).isEmpty)
        #expect(names(rules, at: begin + 2701) == ["AgentLost:a", "AgentStalled:a"])
    }

    @Test func aFixedAfterStillWorks() throws {
        let config = try AlertingConfig(yaml: "rules:\n  - kind: agent_stalled\n    after: 5m\n")
        feed(store, clock, items("short", "a", count: 10, seconds: 0.5, from: t0))
        feed(store, clock, [event(.agentStarted, "short", "a", at: t0 + 10) { $0.item = "hung" }])
        #expect(names(config.rules, at: t0 + 10 + 300).isEmpty)
        #expect(names(config.rules, at: t0 + 10 + 301) == ["AgentStalled:a"])
    }

    @Test func autoAfterFieldsAreRead() throws {
        let config = try AlertingConfig(yaml: """
            rules:
              - kind: agent_lost
                after: auto
                after_floor: 1m
                after_factor: 5
                keep_firing_for: 2m
            """)
        let rule = try #require(config.rules.first)
        #expect(rule.autoAfter?.floor == 60 && rule.autoAfter?.factor == 5 && rule.keepFiringFor == 120)
        #expect(rule.effectiveAfter(p99: 2) == 60 && rule.effectiveAfter(p99: 20) == 100 && rule.effectiveAfter(p99: nil) == 300)
        #expect(throws: ConfigError.self) { try AlertingConfig(yaml: "rules:\n  - kind: job_stalled\n    after: auto\n") }
        #expect(throws: ConfigError.self) { try AlertingConfig(yaml: "rules:\n  - kind: agent_stalled\n    after: 5m\n    after_floor: 1m\n") }
        #expect(throws: ConfigError.self) { try AlertingConfig(yaml: "rules:\n  - kind: agent_stalled\n    after_factor: 0.5\n") }
    }

    @Test func agentSlowNamesTheRealMedian() {
        feed(store, clock, items("j", "a", count: 30, seconds: 0.5, from: t0))
        feed(store, clock, [event(.agentStarted, "j", "a", at: t0 + 15) { $0.item = "slow" }])
        clock.set(t0 + 22.65)
        let evaluator = RuleEvaluator(rules: AlertRule.defaults.filter { $0.kind == .agentSlow })
        var found: [AlertCondition] = []
        store.forEachJob { job, now in found += evaluator.evaluate(job: job, now: now) }
        #expect(found.first?.annotations["summary"] == "a of j is slow: its item has run 7.7s, 15x the median 500ms")
    }

    @Test func shortDurationsAndRatiosReadWell() {
        #expect(AnnotationValues.seconds(0.5) == "500ms")
        #expect(AnnotationValues.seconds(1.04) == "1s")
        #expect(AnnotationValues.seconds(2.46) == "2.5s")
        #expect(AnnotationValues.seconds(372) == "6m 12s")
        #expect(AnnotationValues.times(3.14) == "3.1x")
        #expect(AnnotationValues.times(15.3) == "15x")
    }
}

/// `keep_firing_for`: a firing alert whose condition dips for less than it does not resolve.
@Suite struct KeepFiringForTests {
    func failing(keep: Double) -> AlertCondition {
        AlertCondition(labels: ["alertname": "AgentFailing", "job_name": "j", "agent": "a", "severity": "warning"],
                       annotations: [:], value: 1, forDuration: 0, keepFiringFor: keep)
    }

    @Test func aDipShorterThanKeepFiringForNeitherResolvesNorFiresAgain() {
        var machine = AlertStateMachine()
        #expect(machine.update(holding: [failing(keep: 60)], now: 0).count == 1)
        #expect(machine.update(holding: [], now: 1).isEmpty, "kept firing")
        #expect(machine.active.values.first?.state == .firing)
        #expect(machine.update(holding: [failing(keep: 60)], now: 2).isEmpty, "came back: no second fire")
        #expect(machine.update(holding: [], now: 3).isEmpty)
        #expect(machine.update(holding: [], now: 62).isEmpty, "59 s after it cleared")
        let resolved = machine.update(holding: [], now: 63)
        guard case .resolved(let alert, let at) = resolved.first else { Issue.record("expected a resolve"); return }
        #expect(at == 63 && alert.activeAt == 0)
        #expect(machine.active.isEmpty)
    }

    @Test func withoutKeepFiringForAClearedAlertResolvesAtOnce() {
        var machine = AlertStateMachine()
        _ = machine.update(holding: [failing(keep: 0)], now: 0)
        #expect(machine.update(holding: [], now: 1).count == 1)
    }

    @Test func keptAlertsSurviveASnapshot() throws {
        let clock = ManualClock(1_800_000_000)
        let store = ProgressStore(clock: clock)
        var rule = AlertRule(name: "AgentFailing", kind: .agentFailing)
        rule.keepFiringFor = 60
        rule.failureRatio = 1
        let setup = AlertingSetup(rules: [rule], routes: [], receivers: ["log"], externalURL: "")
        let engine = AlertEngine(store: store, setup: setup, sink: RecordingSink())
        feed(store, clock, (0..<3).map { i in event(.itemFailed, "j", "a", at: 1_800_000_000 + Double(i)) { $0.item = "x"; $0.retryable = true } })
        engine.evaluate()
        feed(store, clock, [event(.itemCompleted, "j", "a", at: 1_800_000_004) { $0.item = "x" }])
        engine.evaluate()
        let copy = AlertEngine(store: store, setup: setup, sink: RecordingSink())
        try copy.restore(from: engine.snapshot())
        let kept = try #require(copy.activeAlerts().first)
        #expect(kept.state == .firing && kept.clearedAt == 1_800_000_004 && kept.condition.keepFiringFor == 60)
    }
}
