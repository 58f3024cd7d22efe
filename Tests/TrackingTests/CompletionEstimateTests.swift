import Foundation
import Events
import Testing
@testable import Tracking

/// The ETC on small traces with a known end, read through the store with the manual clock.
@Suite struct CompletionEstimateTests {
    let t0 = 1_800_000_000.0

    /// `agents` agents each doing items of `seconds` back to back from t0 until `until`, with
    /// agent_started and item_completed; returns the events and the number of items finished.
    func steadyWork(job: String = "j", agents: Int, seconds: Double, until end: Double, firstItem: Int = 0, from start: Double? = nil) -> [Event] {
        var events: [Event] = []
        var item = firstItem
        for a in 0..<agents {
            var t = (start ?? t0) + Double(a) * seconds / Double(agents)   // staggered starts
            while t + seconds <= end {
                events.append(E.started(job, "a\(a)", item: "i\(item)", at: t))
                events.append(E.completed(job, "a\(a)", item: "i\(item)", at: t + seconds, duration: seconds))
                item += 1
                t += seconds
            }
        }
        return events.sorted { ($0.time ?? 0) < ($1.time ?? 0) }
    }

    func eta(_ store: ProgressStore) throws -> JobSummary {
        try #require(store.jobSummaries().first)
    }

    @Test func steadyJobEstimateIsWithinAFewPerCent() throws {
        let clock = ManualClock(t0 + 200)
        let store = ProgressStore(clock: clock)
        // 10 agents, 2 s items: 5 items/s; 1,000 finished by +200, 4,000 planned: 600 s left.
        let work = steadyWork(agents: 10, seconds: 2, until: t0 + 200)
        store.apply([E.jobStarted("j", total: Int64(work.count / 2) + 3_000, at: t0)] + work, source: "test")
        let summary = try eta(store)
        let seconds = try #require(summary.etaSeconds)
        #expect(abs(seconds - 600) / 600 < 0.03, "\(seconds)")
        let lower = try #require(summary.etaLowerSeconds), upper = try #require(summary.etaUpperSeconds)
        #expect(lower <= seconds && seconds <= upper)
        #expect(lower < 600 && 600 < upper, "the band holds the truth")
    }

    @Test func lastWaveWaitsForTheSlowestItemInFlight() throws {
        let clock = ManualClock(t0 + 100)
        let store = ProgressStore(clock: clock)
        let work = steadyWork(agents: 5, seconds: 10, until: t0 + 100)   // 46 items of 10 s
        var events = [E.jobStarted("j", total: Int64(work.count / 2) + 1, at: t0)] + work
        // The last item started at +60 and reports 25 % after 40 s: 120 s more.
        events.append(E.started("j", "slow", item: "last", at: t0 + 60))
        var progress = Event(kind: .agentProgress, job: "j", agent: "slow", time: t0 + 100)
        progress.progress = 0.25
        events.append(progress)
        store.apply(events, source: "test")
        let seconds = try #require(try eta(store).etaSeconds)
        #expect(abs(seconds - 120) < 1, "the straggler's own estimate, not 1 item at 0.5/s (\(seconds))")
        #expect(try eta(store).remaining == 1)
    }

    @Test func aStuckLastItemWithoutProgressKeepsANonZeroEstimateThatGrows() throws {
        let clock = ManualClock(t0 + 100)
        let store = ProgressStore(clock: clock)
        let work = steadyWork(agents: 5, seconds: 10, until: t0 + 100)
        var events = [E.jobStarted("j", total: Int64(work.count / 2) + 1, at: t0)] + work
        events.append(E.started("j", "stuck", item: "last", at: t0 + 95))
        store.apply(events, source: "test")
        var previous = 0.0
        for minutes in [1.0, 5, 10] {
            clock.set(t0 + 95 + minutes * 60)
            let seconds = try #require(try eta(store).etaSeconds, "never absent while an item remains")
            #expect(seconds > 0 && seconds > previous, "\(minutes) min: \(seconds)")
            previous = seconds
        }
    }

    @Test func followsARateChangeWithinAMinute() throws {
        let clock = ManualClock(t0 + 360)
        let store = ProgressStore(clock: clock)
        // 20 agents at 2 s items (10/s) for 5 minutes, then half leave: 5/s.
        var events = steadyWork(agents: 20, seconds: 2, until: t0 + 300)
        let before = events.count / 2
        events += steadyWork(agents: 10, seconds: 2, until: t0 + 360, firstItem: 1_000_000, from: t0 + 300)
        let finished = events.count / 2
        store.apply([E.jobStarted("j", total: Int64(finished) + 3_000, at: t0)] + events, source: "test")
        #expect(before > 2_900)
        let seconds = try #require(try eta(store).etaSeconds)
        #expect(abs(seconds - 600) / 600 < 0.1, "3,000 left at 5/s: 600 s, not 300 s at the old rate (\(seconds))")
    }

    @Test func theSameEventsGiveTheSameEstimateWhateverTheyWereDeliveredAt() throws {
        let work = steadyWork(agents: 8, seconds: 3, until: t0 + 240)
        let events = [E.jobStarted("j", total: 2_000, at: t0)] + work
        // Live: applied as they happen, with upkeep ticks in between.
        let liveClock = ManualClock(t0)
        let live = ProgressStore(clock: liveClock)
        var index = 0
        for second in 0...240 {
            liveClock.set(t0 + Double(second))
            var batch: [Event] = []
            while index < events.count, (events[index].time ?? 0) <= t0 + Double(second) { batch.append(events[index]); index += 1 }
            live.apply(batch, source: "test")
            live.tick()
        }
        // Replayed: all at once at the end.
        let replayClock = ManualClock(t0 + 240)
        let replay = ProgressStore(clock: replayClock)
        replay.apply(events, source: "test")
        #expect(try eta(live).etaSeconds == eta(replay).etaSeconds)
        #expect(try eta(live).etaUpperSeconds == eta(replay).etaUpperSeconds)
    }

    @Test func eventsThatArriveLateDoNotReadAsASlowdown() throws {
        // Events read from a file every 30 s: at +230 the newest event is from +200.
        let clock = ManualClock(t0 + 230)
        let store = ProgressStore(clock: clock)
        let work = steadyWork(agents: 10, seconds: 2, until: t0 + 200)
        store.apply([E.jobStarted("j", total: Int64(work.count / 2) + 3_000, at: t0)] + work, source: "test")
        let seconds = try #require(try eta(store).etaSeconds)
        // 3,000 left at 5/s from +200: done at +800, 570 s after now (a 1m window ending now would say 1,200 s).
        #expect(abs(seconds - 570) / 570 < 0.05, "\(seconds)")
    }

    @Test func durationsTooLargeToComputeWithGiveNoEstimateNotInfinity() throws {
        let clock = ManualClock(t0 + 100)
        let store = ProgressStore(clock: clock)
        var events = [E.jobStarted("j", total: 1_000_000, at: t0)]
        for i in 0..<20 { events.append(E.completed("j", "a\(i)", item: "i\(i)", at: t0 + Double(i), duration: 1e308)) }
        store.apply(events, source: "test")
        let summary = try eta(store)
        #expect(summary.etaSeconds.map(\.isFinite) ?? true, "\(String(describing: summary.etaSeconds))")
        #expect(summary.etaUpperSeconds.map(\.isFinite) ?? true)
        _ = try JSONEncoder().encode(store.jobSummaries())
    }

    @Test func nothingLeftIsZeroAndAFinishedItemShowsNoProgress() throws {
        let clock = ManualClock(t0 + 10)
        let store = ProgressStore(clock: clock)
        var progress = Event(kind: .agentProgress, job: "j", agent: "a", item: "x", time: t0 + 2)
        progress.progress = 0.5
        store.apply([E.jobStarted("j", total: 1, at: t0), E.started("j", "a", item: "x", at: t0), progress,
                     E.completed("j", "a", item: "x", at: t0 + 4)], source: "test")
        #expect(try eta(store).etaSeconds == 0)
        let agent = try #require(store.agentSummaries(job: "j")?.first)
        #expect(agent.item == nil && agent.progressRatio == nil && agent.etaSeconds == nil)
    }
}
