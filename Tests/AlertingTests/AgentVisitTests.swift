import Events
import Testing
import Tracking
@testable import Alerting

/// Jobs whose agents cannot change are not visited again, and yet every alert fires on time.
@Suite struct AgentVisitTests {
    let t0 = 1_800_000_000.0

    /// Evaluations of one store that remember their visit, as the alert engine does.
    struct Evaluation {
        let evaluator: RuleEvaluator
        let store: ProgressStore
        let clock: ManualClock
        var visit: RuleEvaluator.AgentVisit?

        init(rules: [AlertRule], store: ProgressStore, clock: ManualClock) {
            evaluator = RuleEvaluator(rules: rules)
            self.store = store
            self.clock = clock
        }

        mutating func conditions(at t: Double) -> [AlertCondition] {
            clock.set(t)
            var out: [AlertCondition] = []
            var visit = visit
            store.forEachJob { job, now in out += evaluator.evaluate(job: job, now: now, lastVisit: &visit) }
            self.visit = visit
            return out
        }
    }

    @Test func anIdleJobIsSkippedUntilItsFirstDeadlineAndThenFiresOnTime() throws {
        let clock = ManualClock(t0)
        let store = ProgressStore(clock: clock)
        feed(store, clock, [event(.agentStarted, "j", "a", at: t0), event(.agentStarted, "j", "b", at: t0 + 100)])
        var evaluation = Evaluation(rules: AlertRule.defaults.filter { $0.kind == .agentStalled }, store: store, clock: clock)
        func conditions(at t: Double) -> [AlertCondition] { evaluation.conditions(at: t) }
        #expect(conditions(at: t0 + 101).isEmpty)
        let next = try #require(evaluation.visit?.nextCheck)
        #expect(next == t0 + 101 + RuleEvaluator.maximumVisitGap, "no deadline sooner than the visit gap")
        // Every second until a's stall: at most one visit per gap, and the stall is seen at once.
        var fired: Double?
        var t = t0 + 102
        while t <= t0 + 302, fired == nil {
            if !conditions(at: t).isEmpty { fired = t }
            t += 1
        }
        #expect(fired == t0 + 301, "strictly longer than 5m after a's last progress, not a visit gap later")
        // A holding condition keeps the job visited; progress resolves it at the next evaluation.
        feed(store, clock, [event(.agentProgress, "j", "a", at: t0 + 302) { $0.progress = 0.5 }])
        #expect(conditions(at: t0 + 302).isEmpty)
    }

    @Test func anEventMakesTheJobVisitedAgain() {
        let clock = ManualClock(t0)
        let store = ProgressStore(clock: clock)
        feed(store, clock, [event(.agentStarted, "j", "a", at: t0)])
        var rule = AlertRule.defaults.first { $0.kind == .agentFailing }!
        rule.consecutiveFailures = 1
        var evaluation = Evaluation(rules: [rule], store: store, clock: clock)
        func conditions(at t: Double) -> [AlertCondition] { evaluation.conditions(at: t) }
        #expect(conditions(at: t0 + 1).isEmpty)
        feed(store, clock, [event(.itemFailed, "j", "a", at: t0 + 2) { $0.item = "x"; $0.retryable = true }])
        #expect(conditions(at: t0 + 2).count == 1, "failures start holding on an event, seen at the next evaluation")
    }
}
