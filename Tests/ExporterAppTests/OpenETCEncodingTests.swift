import Events
import Foundation
import Testing
import TestSupport
@testable import ExporterApp
@testable import Tracking

/// A job waiting on a stalled item, as the API, the stream and `top` show it: the upper bound is
/// `null` (open), `waiting_on` names the agent and item.
@Suite struct OpenETCEncodingTests {
    static let t0 = 1_800_000_000.0

    /// Two agents finish 40 items of 2 s; a0 then starts the last, reports 75 % and goes quiet for 2m10s.
    static func stuckJob() -> JobSummary? {
        let clock = ManualClock(t0 + 41.5)
        let store = ProgressStore(clock: clock)
        var events = [Event(kind: .jobStarted, job: "j", time: t0)]
        events[0].totalItems = 41
        for i in 0..<40 {
            let agent = "a\(i % 2)", start = t0 + Double(i / 2) * 2
            events.append(Event(kind: .agentStarted, job: "j", agent: agent, item: "i\(i)", time: start))
            var done = Event(kind: .itemCompleted, job: "j", agent: agent, item: "i\(i)", time: start + 2)
            done.durationSeconds = 2
            events.append(done)
        }
        events.append(Event(kind: .agentStarted, job: "j", agent: "a0", item: "last", time: t0 + 40))
        var progress = Event(kind: .agentProgress, job: "j", agent: "a0", item: "last", time: t0 + 41.5)
        progress.progress = 0.75
        events.append(progress)
        store.apply(events, source: "test")
        clock.set(t0 + 41.5 + 130)
        return store.jobSummaries().first
    }

    @Test func theAPISaysNullAboveAndNamesWhatTheJobWaitsFor() throws {
        let job = try #require(Self.stuckJob())
        #expect(job.etaSeconds != nil && job.etaUpperSeconds == nil)
        let api = try #require(try JSONSerialization.jsonObject(with: JSONEncoder.api.encode(job)) as? NSDictionary)
        #expect(api["eta_upper_bound_seconds"] is NSNull, "present and null: open above, not unknown")
        let waiting = try #require((api["waiting_on"] as? [NSDictionary])?.first)
        #expect(waiting["agent"] as? String == "a0" && waiting["item"] as? String == "last")
        #expect(waiting["no_progress_seconds"] as? Double == 130 && waiting["stalled"] as? Bool == true)
        // The stream writes the same object.
        var bytes: [UInt8] = []
        StreamJSON.job(job, into: &bytes)
        #expect(try JSONSerialization.jsonObject(with: Data(bytes)) as? NSDictionary == api)
        // And top reads it as open, waiting on a0.
        let top = try JSONDecoder().decode(JobSummary.self, from: Data(bytes))
        #expect(TopRender.band(top).hasSuffix("-open"), "\(TopRender.band(top))")
        #expect(TopRender.waiting(top) == "waiting on a0 (last, no progress for 2m10s)")
        var state = TopState()
        state.jobs[top.job] = top
        let screen = TopRender.screen(state, width: 160, height: 10, now: Self.t0 + 171.5, source: "x")
        #expect(screen.contains { $0.contains("waiting on a0 (last, no progress for 2m10s)") }, "\(screen)")
    }

    @Test func everySummaryFieldIsEncoded() throws {
        // The summary's encoding is written by hand (for the null above): a field added to the
        // summary and not to the encoding would silently vanish from the API.
        var job = try #require(Self.stuckJob())
        job.deadline = Self.t0 + 3_600
        job.plannedWork = 2_000
        job.finishedWork = 1_000
        job.workPerSecond = 12.5
        job.mostCommonFailure = JobFailures.Reason(reason: "timeout after Ns", count: 3)
        let api = try #require(try JSONSerialization.jsonObject(with: JSONEncoder.api.encode(job)) as? NSDictionary)
        let keys = Set(JobSummary.CodingKeys.allCases.map(\.stringValue))
        #expect(Set(api.allKeys.compactMap { $0 as? String }) == keys)
        let decoded = try JSONDecoder().decode(JobSummary.self, from: JSONEncoder.api.encode(job))
        #expect(decoded == job)
        var bytes: [UInt8] = []
        StreamJSON.job(job, into: &bytes)
        #expect(try JSONSerialization.jsonObject(with: Data(bytes)) as? NSDictionary == api, "the stream writes every field too")
    }
}
