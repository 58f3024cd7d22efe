import Events
import Exposition
import Testing
@testable import Tracking

/// Memory stays flat: a cap on tracked jobs, and jobs that went silent are forgotten.
@Suite struct JobLimitsTests {
    let t0 = 1_800_000_000.0

    @Test func jobsPastTheCapAreCountedAndDropped() throws {
        var options = StoreOptions()
        options.maxTrackedJobs = 2
        let store = ProgressStore(options: options, clock: ManualClock(t0))
        store.apply((0..<5).map { E.jobStarted("j\($0)", total: 3, at: t0) } + [E.completed("j0", "a", item: "x", at: t0)], source: "http")
        #expect(store.jobSummaries().map(\.job) == ["j0", "j1"])
        #expect(try #require(store.jobSummaries().first).finished == 1, "known jobs keep working")
        var writer = ExpositionWriter(format: .prometheusText)
        StoreExposition(store).collect(into: &writer)
        #expect(String(decoding: writer.finish(), as: UTF8.self).contains("progress_exporter_untracked_job_events_total 3\n"))
    }

    @Test func aSilentRunningJobIsForgottenAfterTheSilentRetention() {
        var options = StoreOptions()
        options.silentJobRetention = 600
        let clock = ManualClock(t0)
        let store = ProgressStore(options: options, clock: clock)
        store.apply([E.jobStarted("quiet", total: 3, at: t0), E.jobStarted("busy", total: 3, at: t0)], source: "http")
        clock.set(t0 + 500)
        store.apply([E.heartbeat("busy", "a", at: t0 + 500)], source: "http")
        store.tick()
        #expect(store.jobSummaries().count == 2, "not silent long enough yet")
        clock.set(t0 + 601)
        store.tick()
        #expect(store.jobSummaries().map(\.job) == ["busy"])
        #expect(store.jobChanges(after: FeedCursor(since: 0), limit: .max).removed == ["quiet"])
    }
}
