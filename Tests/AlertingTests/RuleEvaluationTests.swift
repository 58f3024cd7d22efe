import Events
import Testing
import Tracking
@testable import Alerting

/// Each built-in rule against a real store driven by a manual clock.
@Suite struct RuleEvaluationTests {
    let t0 = 1_800_000_000.0
    let clock: ManualClock
    let store: ProgressStore

    init() {
        clock = ManualClock(1_800_000_000)
        store = ProgressStore(clock: clock)
    }

    func conditions(_ rules: [AlertRule] = AlertRule.defaults, at t: Double) -> [AlertCondition] {
        clock.set(t)
        let evaluator = RuleEvaluator(rules: rules)
        var found: [AlertCondition] = []
        store.forEachJob { job, now in found += evaluator.evaluate(job: job, now: now) }
        return found
    }

    func names(_ conditions: [AlertCondition]) -> [String] {
        conditions.map { "\($0.labels["alertname"]!):\($0.labels["agent"] ?? "-")" }.sorted()
    }

    @Test func stalledIsQuietStrictlyLongerThanAfterAndHeartbeatsDoNotCount() {
        feed(store, clock, [event(.agentStarted, "j", "a", at: t0)])
        #expect(names(conditions(at: t0 + 300)).isEmpty, "exactly 5m is not longer than 5m")
        feed(store, clock, [event(.agentHeartbeat, "j", "a", at: t0 + 250)])
        let later = conditions(at: t0 + 301)
        #expect(names(later) == ["AgentStalled:a"])
        let stalled = try! #require(later.first)
        #expect(stalled.labels == ["alertname": "AgentStalled", "severity": "warning", "job_name": "j", "agent": "a"])
        #expect(stalled.annotations["summary"] == "a of j made no progress for 5m 1s")
        #expect(stalled.forDuration == 15)
        feed(store, clock, [event(.agentProgress, "j", "a", at: t0 + 302) { $0.progress = 0.5 }])
        #expect(names(conditions(at: t0 + 303)).isEmpty)
    }

    @Test func annotationsNameTheJobAsJobAndJobNameEvenBesideAJobLabel() throws {
        var rule = AlertRule.defaults[0]
        rule.labels = ["job": "progress-exporter"]
        rule.annotations = ["summary": "{{agent}} of {{job}} ({{job_name}}) in {{ job }}"]
        feed(store, clock, [event(.agentStarted, "etl", "a", at: t0)])
        let stalled = try #require(conditions([rule], at: t0 + 301).first)
        #expect(stalled.labels["job"] == "progress-exporter" && stalled.labels["job_name"] == "etl")
        #expect(stalled.annotations["summary"] == "a of etl (etl) in etl")
    }

    @Test func stalledWatchesRunningAgentsOnly() {
        feed(store, clock, [event(.agentState, "j", "q", at: t0) { $0.state = .queued }, event(.agentHeartbeat, "j", "q", at: t0 + 200)])
        #expect(names(conditions(at: t0 + 400)).isEmpty)
    }

    @Test func lostWhenNoEventAtAllAndNotInAFinalState() {
        feed(store, clock, [event(.agentStarted, "j", "a", at: t0), event(.agentStarted, "j", "done", at: t0),
                     event(.agentState, "j", "done", at: t0 + 1) { $0.state = .completed }])
        let found = names(conditions(at: t0 + 301))
        #expect(found == ["AgentLost:a", "AgentStalled:a"])
    }

    @Test func failingOnConsecutiveFailures() {
        var events = [event(.agentStarted, "j", "a", at: t0)]
        for i in 0..<3 { events.append(event(.itemFailed, "j", "a", at: t0 + Double(i)) { $0.item = "x"; $0.retryable = true }) }
        feed(store, clock, events)
        #expect(names(conditions(at: t0 + 10)) == ["AgentFailing:a"])
        feed(store, clock, [event(.itemCompleted, "j", "a", at: t0 + 11) { $0.item = "x" }])
        var runOnly = AlertRule.defaults.first { $0.kind == .agentFailing }!
        runOnly.failureRatio = 1
        #expect(conditions([runOnly], at: t0 + 12).isEmpty, "a completion ends the run of failures")
        #expect(conditions(at: t0 + 12).first?.value == 0.75, "3 of 4 attempts failed: the ratio still fires")
    }

    @Test func failingOnRatioNeedsEnoughAttempts() {
        var rule = AlertRule.defaults.first { $0.kind == .agentFailing }!
        rule.consecutiveFailures = 0
        let fail = { (t: Double) in event(.itemFailed, "j", "a", at: t) { $0.item = "i\(t)"; $0.retryable = true } }
        let done = { (t: Double) in event(.itemCompleted, "j", "a", at: t) { $0.item = "i\(t)" } }
        feed(store, clock, [fail(t0), done(t0 + 1), fail(t0 + 2)])
        #expect(conditions([rule], at: t0 + 5).isEmpty, "3 attempts are fewer than 4")
        feed(store, clock, [fail(t0 + 3)])
        let hit = conditions([rule], at: t0 + 5)
        #expect(hit.count == 1 && hit.first?.value == 0.75)
        #expect(conditions([rule], at: t0 + 700).isEmpty, "the failures left the 10m window")
    }

    @Test func jobStalledWhenItemsRemainAndNothingFinishedInTheWindow() {
        feed(store, clock, [event(.jobStarted, "j", at: t0) { $0.totalItems = 10 }, event(.itemCompleted, "j", "a", at: t0 + 10) { $0.item = "x" }])
        #expect(conditions(at: t0 + 600).filter { $0.labels["alertname"] == "JobStalled" }.isEmpty)
        let stalled = conditions(at: t0 + 611).filter { $0.labels["alertname"] == "JobStalled" }
        #expect(stalled.count == 1)
        #expect(stalled.first?.labels["agent"] == nil)
        #expect(stalled.first?.value == 9)
    }

    @Test func behindScheduleComparesTheEstimateWithTheDeadline() {
        feed(store, clock, [event(.jobStarted, "j", at: t0) { $0.totalItems = 100; $0.deadline = t0 + 500 }]
            + (0..<10).map { i in event(.itemCompleted, "j", "a", at: t0 + Double(i * 10)) { $0.item = "i\(i)" } })
        // 10 items in 100 s: 90 more take about 800-900 s, past the deadline at +500 by 300-400 s
        // (the value is the ETC past the deadline).
        let late = conditions(at: t0 + 100).filter { $0.labels["alertname"] == "JobBehindSchedule" }
        #expect(late.count == 1)
        #expect((250...550).contains(late.first?.value ?? 0))
        var rule = AlertRule.defaults.first { $0.kind == .jobBehindSchedule }!
        rule.deadline = t0 + 4000
        feed(store, clock, [event(.jobStarted, "k", at: t0) { $0.totalItems = 100 }, event(.itemCompleted, "k", "a", at: t0 + 50)])
        #expect(conditions(at: t0 + 100).compactMap { $0.labels["job_name"] } == ["j"], "k has no deadline")
        // k: 1 item in 50-100 s, 99 left: 4,900 s or more, past the config's deadline at +4000.
        #expect(conditions([rule], at: t0 + 100).map { $0.labels["job_name"] } == ["j", "k"])
    }

    @Test func endedJobsRaiseNothing() {
        feed(store, clock, [event(.agentStarted, "j", "a", at: t0), event(.jobCompleted, "j", at: t0 + 1)])
        #expect(conditions(at: t0 + 1000).isEmpty)
    }

    @Test func perJobOverridesAndDisabling() throws {
        var quick = AlertRule(name: "AgentStalled", kind: .agentStalled)
        quick.after = 30
        quick.jobs = try IDPattern("etl-.*")
        var off = AlertRule(name: "AgentStalled", kind: .agentStalled)
        off.jobs = try IDPattern("bulk")
        off.enabled = false
        let rules = AlertRule.defaults + [quick, off]
        feed(store, clock, [event(.agentStarted, "etl-1", "a", at: t0), event(.agentStarted, "other", "b", at: t0), event(.agentStarted, "bulk", "c", at: t0)])
        #expect(names(conditions(rules, at: t0 + 60).filter { $0.labels["alertname"] == "AgentStalled" }) == ["AgentStalled:a"])
        #expect(names(conditions(rules, at: t0 + 400).filter { $0.labels["alertname"] == "AgentStalled" }) == ["AgentStalled:a", "AgentStalled:b"])
        #expect(try IDPattern("etl").matches("etl-1") == false, "patterns match the whole id")
    }
}
