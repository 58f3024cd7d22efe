import Events
import Exposition
import Testing
@testable import Tracking

@Suite struct ProgressStoreTests {
    let clock = ManualClock(1_800_000_000)
    var t0: Double { 1_800_000_000 }

    func store(_ configure: (inout StoreOptions) -> Void = { _ in }) -> ProgressStore {
        var options = StoreOptions()
        configure(&options)
        return ProgressStore(options: options, clock: clock)
    }

    func job(_ store: ProgressStore, _ id: String = "j") throws -> JobSummary {
        try #require(store.jobSummaries().first { $0.job == id })
    }

    @Test func eventsOfUnknownJobsAndAgentsRegisterThem() throws {
        let s = store()
        s.apply([E.completed("late", "a1", item: "i1")], source: "test")
        let summary = try job(s, "late")
        #expect(summary.completed == 1)
        #expect(summary.finished == 1)
        #expect(summary.agents["running"] == 1)
        #expect(summary.planned == nil && summary.remaining == nil && summary.progressRatio == nil && summary.etaSeconds == nil)
    }

    @Test func anItemFinishesOnceButEveryOutcomeIsCounted() throws {
        let s = store()
        s.apply([
            E.jobStarted("j", total: 10, at: t0),
            E.started("j", "a", item: "x", at: t0),
            E.failed("j", "a", item: "x", retryable: true, at: t0 + 1),
            E.retrying("j", "a", at: t0 + 2),
            E.completed("j", "a", item: "x", at: t0 + 3),
            E.started("j", "b", item: "y", at: t0),
            E.failed("j", "b", item: "y", retryable: false, at: t0 + 1),
            E.deadLettered("j", item: "y", at: t0 + 2),
            E.completed("j", "c", item: "z", at: t0 + 1),
            E.completed("j", "c", item: "z", at: t0 + 2),
        ], source: "test")
        let summary = try job(s)
        #expect(summary.completed == 3)
        #expect(summary.failed == 2)
        #expect(summary.deadLettered == 1)
        #expect(summary.retries == 1)
        #expect(summary.finished == 3, "x completed, y failed for good then dead-lettered, z completed twice")
        #expect(summary.remaining == 7)
        #expect(summary.progressRatio == 0.3)
        #expect(summary.agents["dead_lettered"] == 1)
        #expect(summary.agents["running"] == 2)
    }

    @Test func eventsWithoutItemApplyToTheAgentsCurrentItem() throws {
        let s = store()
        s.apply([
            E.started("j", "a", item: "x", at: t0),
            E.failed("j", "a", retryable: false, at: t0 + 1),
            E.deadLettered("j", item: "x", at: t0 + 2),
        ], source: "test")
        #expect(try job(s).finished == 1)
    }

    /// The applier keeps the previous event's job at hand; events that alternate between jobs
    /// (and a job that first appears mid-batch) must still land in their own job.
    @Test func eventsAlternatingBetweenJobsInOneBatchLandInTheirOwnJob() throws {
        let s = store()
        let jobs = ["a", "b", "a", "c", "c", "b", "a"]
        s.apply(jobs.enumerated().map { E.completed($1, "w-\($1)", item: "i\($0)", at: t0) }, source: "test")
        #expect(try job(s, "a").completed == 3)
        #expect(try job(s, "b").completed == 2)
        #expect(try job(s, "c").completed == 2)
        #expect(try job(s, "c").agents.values.reduce(0, +) == 1)
    }

    @Test func plannedTotalGrowsAndRatioStaysAtMostOne() throws {
        let s = store()
        s.apply([E.itemsAdded("j", 2, at: t0)], source: "test")
        #expect(try job(s).planned == 2)
        s.apply([E.jobStarted("j", total: 3, at: t0)], source: "test")
        #expect(try job(s).planned == 5)
        s.apply((0..<7).map { E.completed("j", nil, item: "i\($0)", at: t0 + 1) }, source: "test")
        let summary = try job(s)
        #expect(summary.remaining == 0)
        #expect(summary.progressRatio == 1)
        #expect(summary.etaSeconds == 0)
    }

    @Test func zeroPlannedItemsHasNoRatio() throws {
        let s = store()
        s.apply([E.jobStarted("j", total: 0, at: t0)], source: "test")
        #expect(try job(s).progressRatio == nil)
        #expect(try job(s).remaining == 0)
    }

    @Test func olderEventsDoNotOverrideANewerAgentState() throws {
        let s = store()
        s.apply([E.state("j", "a", .completed, at: t0 - 10), E.started("j", "a", item: "x", at: t0 - 15)], source: "test")
        let summary = try job(s)
        #expect(summary.agents["completed"] == 1)
        #expect(summary.agents["running"] == 0)
    }

    @Test func everyStateIsCountedAndTheCountsFollowTransitions() throws {
        let s = store()
        s.apply([E.state("j", "a", .queued, at: t0), E.state("j", "b", .merging, at: t0)], source: "test")
        #expect(try job(s).agents == ["queued": 1, "initializing": 0, "running": 0, "merging": 1, "completed": 0, "failed": 0, "retrying": 0, "dead_lettered": 0])
        s.apply([E.started("j", "a", at: t0 + 1), E.retrying("j", "b", at: t0 + 1)], source: "test")
        let agents = try job(s).agents
        #expect(agents["queued"] == 0 && agents["running"] == 1 && agents["retrying"] == 1 && agents["merging"] == 0)
    }

    @Test func aTimestampInTheFutureIsClampedToArrival() throws {
        let s = store()
        s.apply([E.heartbeat("j", "a", at: t0 + 3600)], source: "test")
        #expect(try job(s).lastEventTime == t0)
        s.apply([E.heartbeat("j", "a", at: t0 + 2)], source: "test")
        #expect(try job(s).lastEventTime == t0 + 2, "within the skew the event keeps its time")
    }

    @Test func repeatedEventIdsAreAppliedOnce() throws {
        let s = store()
        var e = E.completed("j", "a")
        e.id = "evt-1"
        s.apply([e, e], source: "test")
        clock.advance(1)
        s.apply([e], source: "test")
        #expect(try job(s).completed == 1)
    }

    @Test func throughputAndETAFromEventTimes() throws {
        let s = store()
        var events = [E.jobStarted("j", total: 1000, at: t0)]
        // 2 items a second for 100 s.
        for i in 0..<200 { events.append(E.completed("j", "a\(i % 4)", item: "i\(i)", at: t0 + Double(i) * 0.5)) }
        clock.set(t0 + 100)
        s.apply(events, source: "test")
        let summary = try job(s)
        #expect(abs(summary.throughput - 2) < 0.05)
        #expect(abs(summary.throughputByWindow["1m"]! - 2) < 0.05)
        let eta = try #require(summary.etaSeconds)
        #expect(abs(eta - 400) < 10, "800 remaining at 2/s")
        #expect(abs(summary.estimatedCompletion! - (t0 + 100 + eta)) < 0.001)
    }

    @Test func etaFallsBackToTheAverageSinceStartWhenTheWindowIsEmpty() throws {
        let s = store()
        clock.set(t0 + 10)
        s.apply([E.jobStarted("j", total: 20, at: t0)] + (0..<10).map { E.completed("j", "a", item: "i\($0)", at: t0 + Double($0)) }, source: "test")
        clock.set(t0 + 1000)
        let eta = try #require(try job(s).etaSeconds)
        #expect(abs(eta - 10 / (10.0 / 1000)) < 1)
    }

    @Test func etaIsAbsentBeforeAnythingFinishedAndForAFailedJob() throws {
        let s = store()
        s.apply([E.jobStarted("j", total: 5, at: t0), E.started("j", "a", at: t0)], source: "test")
        #expect(try job(s).etaSeconds == nil)
        s.apply([E.completed("j", "a", at: t0 + 1), E.ended("j", .jobFailed, at: t0 + 2)], source: "test")
        #expect(try job(s).etaSeconds == nil)
        #expect(try job(s).status == "failed")
    }

    @Test func endedJobsAndSilentAgentsExpire() throws {
        let s = store { $0.jobRetention = 60; $0.agentRetention = 120 }
        s.apply([E.started("done", "a", at: t0), E.ended("done", at: t0), E.started("live", "old", at: t0)], source: "test")
        clock.set(t0 + 100)
        s.apply([E.started("live", "new", at: t0 + 100)], source: "test")
        s.tick()
        #expect(s.jobSummaries().map(\.job) == ["live"])
        clock.set(t0 + 130)
        s.tick()
        let agents = try #require(s.agentSummaries(job: "live")).map(\.agent)
        #expect(agents == ["new"])
        #expect(try job(s, "live").agents["running"] == 1)
    }

    @Test func agentsPastTheTrackedLimitStillCountForTheirJob() throws {
        let s = store { $0.maxTrackedAgents = 2 }
        s.apply((0..<4).map { E.completed("j", "a\($0)", item: "i\($0)", at: t0) }, source: "test")
        let summary = try job(s)
        #expect(summary.completed == 4)
        #expect(summary.agents.values.reduce(0, +) == 2)
    }

    @Test func ignoredKindsAreBoundedAsLabelValues() throws {
        let s = store()
        for i in 0..<100 { s.apply([], source: "test", ignored: ["kind_\(i)": 1]) }
        var writer = ExpositionWriter(format: .prometheusText)
        StoreExposition(s).collect(into: &writer)
        let lines = String(decoding: writer.finish(), as: UTF8.self).split(separator: "\n").filter { $0.hasPrefix("progress_exporter_events_ignored_total{") }
        #expect(lines.count == IngestStats.maxIgnoredKinds + 1)
        #expect(lines.contains("progress_exporter_events_ignored_total{kind=\"other\"} 36"))
    }

    @Test func agentETAExtrapolatesItsItemProgress() throws {
        let s = store()
        s.apply([E.started("j", "a", item: "x", at: t0), E.progress("j", "a", steps: 1, of: 4, at: t0 + 30)], source: "test")
        clock.set(t0 + 30)
        let agent = try #require(s.agentSummaries(job: "j")?.first)
        #expect(agent.progressRatio == 0.25)
        #expect(agent.etaSeconds == 90)
    }
}

@Suite struct ConcurrencyTests {
    @Test func concurrentBatchesAndScrapesLoseNothing() async {
        let clock = ManualClock(1_800_000_000)
        let store = ProgressStore(clock: clock)
        let exposition = StoreExposition(store)
        await withTaskGroup(of: Void.self) { group in
            for writer in 0..<8 {
                group.addTask {
                    for batch in 0..<50 {
                        let events = (0..<20).map { i in E.completed("job-\(writer % 3)", "agent-\(writer)-\(i)", item: "w\(writer)-b\(batch)-i\(i)") }
                        store.apply(events, source: "test")
                    }
                }
            }
            for _ in 0..<4 {
                group.addTask {
                    for _ in 0..<20 {
                        var writer = ExpositionWriter(format: .prometheusText)
                        exposition.collect(into: &writer)
                        _ = writer.finish()
                        _ = store.jobSummaries()
                    }
                }
            }
        }
        let summaries = store.jobSummaries()
        #expect(summaries.reduce(0) { $0 + $1.completed } == 8 * 50 * 20)
        #expect(summaries.reduce(0) { $0 + $1.finished } == 8 * 50 * 20)
        #expect(summaries.reduce(0) { $0 + ($1.agents["running"] ?? 0) } == 8 * 20)
    }
}

@Suite struct ForgottenOnArrivalTests {
    let clock = ManualClock(1_800_000_000)
    var t0: Double { 1_800_000_000 }

    func store() -> ProgressStore {
        var options = StoreOptions()
        options.jobRetention = 3600
        return ProgressStore(options: options, clock: clock)
    }

    @Test func aJobThatEndedLongerAgoThanTheRetentionIsReportedWhenItIsForgotten() {
        let s = store()
        #expect(s.tick().isEmpty)
        s.apply([E.jobStarted("old", total: 1, at: t0 - 9000), E.ended("old", at: t0 - 7200), E.jobStarted("live", total: 1, at: t0)], source: "file")
        clock.advance(1)
        #expect(s.tick() == [ProgressStore.ForgottenOnArrival(job: "old", endTime: t0 - 7200)])
        #expect(s.jobSummaries().map(\.job) == ["live"])
        clock.advance(1)
        #expect(s.tick().isEmpty, "reported once")
    }

    @Test func aJobExpiringInTheNormalWayIsNotReported() {
        let s = store()
        s.apply([E.jobStarted("j", total: 1, at: t0), E.ended("j", at: t0 + 10)], source: "http")
        for _ in 0..<3700 {
            clock.advance(1)
            #expect(s.tick().isEmpty)
        }
        #expect(s.jobSummaries().isEmpty, "expired")
    }

    @Test func aRunningJobWhoseNewestEventIsOlderThanTheSilentRetentionIsReportedAsSilent() {
        let s = store()
        #expect(s.tick().isEmpty)
        // A job of a year ago that never sent job_completed, read from an old log.
        s.apply([E.jobStarted("year-old", total: 5, at: t0 - 365 * 86_400)], source: "file")
        clock.advance(1)
        #expect(s.tick() == [ProgressStore.ForgottenOnArrival(job: "year-old", endTime: t0 - 365 * 86_400, silent: true)])
        #expect(s.jobSummaries().isEmpty)
    }

    @Test func aRunningJobFallingSilentInTheNormalWayIsNotReported() {
        var options = StoreOptions()
        options.silentJobRetention = 100
        let s = ProgressStore(options: options, clock: clock)
        s.apply([E.jobStarted("j", total: 1, at: t0)], source: "http")
        for _ in 0..<102 {
            clock.advance(1)
            #expect(s.tick().isEmpty)
        }
        #expect(s.jobSummaries().isEmpty, "forgotten, but it was seen alive")
    }

    @Test func theFirstTickReportsJobsThatArrivedExpired() {
        let s = store()
        s.apply([E.jobStarted("old", total: 1, at: t0 - 9000), E.ended("old", at: t0 - 7200)], source: "file")
        #expect(s.tick().map(\.job) == ["old"])
    }
}
