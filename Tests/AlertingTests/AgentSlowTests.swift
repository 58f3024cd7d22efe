import ConfigFiles
import Events
import Testing
import Tracking
@testable import Alerting

/// agent_slow against a real store driven by a manual clock.
@Suite struct AgentSlowTests {
    let t0 = 1_800_000_000.0
    let clock = ManualClock(1_800_000_000)
    let store: ProgressStore
    let rule = AlertRule.defaults.first { $0.kind == .agentSlow }!

    init() { store = ProgressStore(clock: clock) }

    func slow(at t: Double, _ rule: AlertRule? = nil) -> [AlertCondition] {
        clock.set(t)
        let evaluator = RuleEvaluator(rules: [rule ?? self.rule])
        var found: [AlertCondition] = []
        store.forEachJob { job, now in found += evaluator.evaluate(job: job, now: now) }
        return found
    }

    /// `agents` agents finishing 10 s items back to back from t0 until `end`.
    func steady(agents: [String], until end: Double) {
        var events: [Event] = []
        var n = 0
        for agent in agents {
            var t = t0
            while t + 10 <= end {
                events.append(event(.agentStarted, "j", agent, at: t) { $0.item = "i\(n)" })
                events.append(event(.itemCompleted, "j", agent, at: t + 10) { $0.item = "i\(n)"; $0.durationSeconds = 10 })
                n += 1
                t += 10
            }
        }
        feed(store, clock, events.sorted { ($0.time ?? 0) < ($1.time ?? 0) })
    }

    @Test func anItemRunningLongerThanThreeMediansIsSlow() throws {
        steady(agents: ["a", "b"], until: t0 + 100)   // 20 items of 10 s
        feed(store, clock, [event(.agentStarted, "j", "a", at: t0 + 100) { $0.item = "long" }])
        #expect(slow(at: t0 + 130).isEmpty, "exactly 3 medians is not longer")
        let found = try #require(slow(at: t0 + 131).first)
        #expect(found.labels["alertname"] == "AgentSlow" && found.labels["agent"] == "a" && found.labels["job_name"] == "j")
        #expect(abs(found.value - 3.1) < 0.01)
        #expect(found.annotations["summary"] == "a of j is slow: its item has run 31s, 3.1x the median 10s")
        feed(store, clock, [event(.itemCompleted, "j", "a", at: t0 + 140) { $0.item = "long" }])
        #expect(slow(at: t0 + 141).isEmpty, "a finished item clears it")
    }

    /// The engine judges a job's agents a chunk per hold of the store's lock: with the peers' rates
    /// gathered over all chunks and the rate conditions judged after the last, any chunk size finds
    /// what one pass in one hold finds.
    @Test func chunkedEvaluationFindsWhatOneHoldFinds() {
        steady(agents: (0..<8).map { "a\($0)" }, until: t0 + 600)
        var events: [Event] = []
        var t = t0
        var n = 0
        while t + 60 <= t0 + 600 {
            events.append(event(.agentStarted, "j", "turtle", at: t) { $0.item = "t\(n)" })
            events.append(event(.itemCompleted, "j", "turtle", at: t + 60) { $0.item = "t\(n)"; $0.durationSeconds = 60 })
            n += 1
            t += 60
        }
        // Too new to count among the peers' rates, quiet past the (shortened) stalled and lost thresholds.
        events.append(event(.agentStarted, "j", "quiet", at: t0 + 400) { $0.item = "q" })
        events.append(event(.agentStarted, "j", "long", at: t0 + 500) { $0.item = "l" })
        feed(store, clock, events.sorted { ($0.time ?? 0) < ($1.time ?? 0) })
        clock.set(t0 + 600)
        let evaluator = RuleEvaluator(rules: AlertRule.defaults.map { rule in
            var rule = rule
            if rule.kind == .agentStalled || rule.kind == .agentLost { rule.after = 100 }
            return rule
        })
        var whole: [AlertCondition] = []
        store.forEachJob { job, now in whole += evaluator.evaluate(job: job, now: now) }
        #expect(Set(whole.compactMap { $0.labels["agent"] }) == ["turtle", "quiet", "long"])
        for perHold in [1, 2, 3, 7, 1_024] {
            var chunked: [AlertCondition] = []
            store.forEachJob(agentsPerHold: perHold, visitor: { _ in
                RuleEvaluator.JobEvaluation(evaluator, lastVisit: nil)
            }, finished: { _, evaluation in chunked += evaluation.conditions })
            #expect(chunked == whole, "\(perHold) agents per hold")
        }
    }

    @Test func nothingIsJudgedBeforeTheJobFinishedMinItems() {
        steady(agents: ["a"], until: t0 + 50)   // 5 items
        feed(store, clock, [event(.agentStarted, "j", "a", at: t0 + 50) { $0.item = "long" }])
        #expect(slow(at: t0 + 500).isEmpty)
        var few = rule
        few.minItems = 5
        #expect(slow(at: t0 + 500, few).count == 1)
    }

    @Test func anAgentFarSlowerThanItsPeersIsSlowButAnEvenPoolIsNot() {
        // Eight agents at 10 s items for 10 minutes; "turtle" does 60 s items.
        steady(agents: (0..<8).map { "a\($0)" }, until: t0 + 600)
        var events: [Event] = []
        var t = t0
        var n = 0
        while t + 60 <= t0 + 600 {
            events.append(event(.agentStarted, "j", "turtle", at: t) { $0.item = "t\(n)" })
            events.append(event(.itemCompleted, "j", "turtle", at: t + 60) { $0.item = "t\(n)"; $0.durationSeconds = 60 })
            n += 1
            t += 60
        }
        feed(store, clock, events)
        let found = slow(at: t0 + 600)
        #expect(found.map { $0.labels["agent"] } == ["turtle"])
        #expect(abs((found.first?.value ?? 0) - 6) < 0.5, "6x slower than the median")
        var off = rule
        off.quantile = 0
        #expect(slow(at: t0 + 600, off).isEmpty, "quantile 0 turns the rate condition off")
    }

    @Test func theConfigReadsTheNewFields() throws {
        let config = try AlertingConfig(yaml: """
            rules:
              - alert: Slow
                kind: agent_slow
                factor: 4
                quantile: 0.05
                min_items: 50
            """)
        let read = try #require(config.rules.first)
        #expect(read.kind == .agentSlow && read.factor == 4 && read.quantile == 0.05 && read.minItems == 50)
        #expect(throws: ConfigError.self) { try AlertingConfig(yaml: "rules:\n  - kind: agent_slow\n    factor: 0.5\n") }
    }
}
