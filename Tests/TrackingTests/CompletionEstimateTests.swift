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

    /// 10 agents doing 2 s items; at +60 agent a0 starts the last item, reports 75 % at +61.5, then nothing.
    func stuckLastItem() -> [Event] {
        let work = steadyWork(agents: 10, seconds: 2, until: t0 + 60)
        var events = [E.jobStarted("j", total: Int64(work.count / 2) + 1, at: t0)] + work
        events.append(E.started("j", "a0", item: "last", at: t0 + 60))
        var progress = Event(kind: .agentProgress, job: "j", agent: "a0", item: "last", time: t0 + 61.5)
        progress.progress = 0.75
        events.append(progress)
        return events
    }

    @Test func aStuckLastItemOpensTheUpperBoundAndNamesTheAgent() throws {
        let clock = ManualClock(t0 + 62)
        let store = ProgressStore(clock: clock)
        store.apply(stuckLastItem(), source: "test")
        // Just after its progress report the item is on time: a closed band, the last item named.
        let onTime = try eta(store)
        #expect(onTime.etaUpperSeconds != nil)
        #expect(onTime.waitingOn?.first?.agent == "a0" && onTime.waitingOn?.first?.stalled == false)
        // 2m10s without progress, far past the 2 s its own progress promised: stalled.
        clock.set(t0 + 61.5 + 130)
        let stuck = try eta(store)
        #expect(stuck.etaUpperSeconds == nil, "open above: the item may never end")
        let lower = try #require(stuck.etaLowerSeconds), seconds = try #require(stuck.etaSeconds)
        #expect(lower > 0 && lower < seconds)
        let waiting = try #require(stuck.waitingOn?.first)
        #expect(waiting.agent == "a0" && waiting.item == "last" && waiting.stalled)
        #expect(waiting.text == "a0 (last, no progress for 2m 10s)")
        // Never a finish in the past while the item remains.
        let finish = try #require(stuck.estimatedCompletion)
        #expect(finish > clock.now())
    }

    @Test func anItemOlderThanItsPeersIsExpectedToRunAsLongAgain() throws {
        let clock = ManualClock(t0 + 100)
        let store = ProgressStore(clock: clock)
        let work = steadyWork(agents: 5, seconds: 10, until: t0 + 100)
        // The last item has run 25 s (every other took 10 s) without reporting progress: not yet
        // stalled (that takes 30 s and twice every recent duration), but older than its peers.
        store.apply([E.jobStarted("j", total: Int64(work.count / 2) + 1, at: t0)] + work
                    + [E.started("j", "slow", item: "last", at: t0 + 75)], source: "test")
        let summary = try eta(store)
        let seconds = try #require(summary.etaSeconds)
        #expect(abs(seconds - 25) < 1, "as long again as its age (\(seconds))")
        let lower = try #require(summary.etaLowerSeconds), upper = try #require(summary.etaUpperSeconds)
        #expect(lower < 5 && upper > 200, "Lindy's 80 % band is wide, 1/9 to 9 times its age: \(lower)-\(upper)")
        // Past 30 s and twice every duration without progress: stalled, open above.
        clock.set(t0 + 75 + 31)
        #expect(try eta(store).etaUpperSeconds == nil)
        #expect(try eta(store).waitingOn?.first?.stalled == true)
    }

    @Test func itemsInFlightLongerThanEveryFinishedOneLengthenTheETC() throws {
        // 10 agents on 1 s items for 20 s (about 200 finished, none longer than 1 s), and two more
        // agents each holding one item: started at t0 in one job (20 s old: longer than every
        // finished item, not yet stalled), a moment ago in the other. Their durations, at least 20 s,
        // are part of the job's record: a job whose finished items are only its short ones is
        // slower than they say, and ends later.
        func etaSeconds(longItemsStartedAt start: Double) throws -> Double {
            let clock = ManualClock(t0 + 20)
            let store = ProgressStore(clock: clock)
            // Each of the 10 holds its next item at +20.
            let work = steadyWork(agents: 10, seconds: 1, until: t0 + 21).filter { ($0.time ?? 0) <= t0 + 20 }
            store.apply([E.jobStarted("j", total: Int64(work.count / 2) + 1_000, at: t0)] + work
                        + [E.started("j", "long-1", item: "l1", at: start), E.started("j", "long-2", item: "l2", at: start)],
                        source: "test")
            return try #require(try eta(store).etaSeconds)
        }
        let young = try etaSeconds(longItemsStartedAt: t0 + 19.5)
        let old = try etaSeconds(longItemsStartedAt: t0)
        // Little's law over the record with two items of about 40 s (twice their age) among ~200 of 1 s.
        #expect(old > 1.2 * young, "\(old) against \(young)")
        #expect(abs(young - 1_000.0 / 12) / (1_000.0 / 12) < 0.1, "\(young)")
    }

    @Test func halfTheAgentsLeavingIsFollowedWithinAFewItemDurations() throws {
        // 20 agents on 2 s items for 100 s, then 10 of them stop taking items.
        var events = steadyWork(agents: 20, seconds: 2, until: t0 + 100)
        events += steadyWork(agents: 10, seconds: 2, until: t0 + 120, firstItem: 1_000_000, from: t0 + 100)
        let finished = events.count / 2
        let clock = ManualClock(t0 + 115)
        let store = ProgressStore(clock: clock)
        store.apply([E.jobStarted("j", total: Int64(finished) + 1_000, at: t0)]
                    + events.filter { ($0.time ?? 0) <= t0 + 115 }, source: "test")
        // 15 s after the change (the minute's window still says 10/s): 1,000 + the ones not yet
        // finished at 5/s.
        let remaining = try #require(try eta(store).remaining)
        let seconds = try #require(try eta(store).etaSeconds)
        let truth = Double(remaining) / 5
        #expect(abs(seconds - truth) / truth < 0.1, "\(seconds) against \(truth)")
    }

    @Test func aFinishedJobEndsWithItsLastItemNotAtTheScrape() throws {
        let clock = ManualClock(t0 + 10)
        let store = ProgressStore(clock: clock)
        store.apply([E.jobStarted("j", total: 2, at: t0), E.started("j", "a", item: "x", at: t0),
                     E.completed("j", "a", item: "x", at: t0 + 3), E.started("j", "a", item: "y", at: t0 + 3),
                     E.completed("j", "a", item: "y", at: t0 + 7), E.heartbeat("j", "a", at: t0 + 9)], source: "test")
        // Every planned item finished, no job_completed: the end is the last item's, however late the scrape.
        #expect(try eta(store).estimatedCompletion == t0 + 7)
        clock.set(t0 + 300)
        #expect(try eta(store).estimatedCompletion == t0 + 7)
        #expect(try eta(store).etaSeconds == 0)
        // A job that completed without a planned total ended when it said so.
        store.apply([E.jobStarted("k", at: t0), E.ended("k", at: t0 + 20)], source: "test")
        let k = try #require(store.jobSummaries().first { $0.job == "k" })
        #expect(k.estimatedCompletion == t0 + 20)
    }

    @Test func theSameEventsGiveTheSameEstimateBandAndWaitWhateverTheirDelivery() throws {
        var events = stuckLastItem()
        events.insert(E.completed("j", "a1", item: "late-duplicate", at: t0 + 30), at: events.count / 2)
        let end = t0 + 200
        func replayed(batchSeconds: Double) -> JobSummary? {
            let clock = ManualClock(t0)
            let store = ProgressStore(clock: clock)
            var index = 0
            var t = t0
            while t < end {
                t += batchSeconds
                clock.set(min(t, end))
                var batch: [Event] = []
                while index < events.count, (events[index].time ?? 0) <= t { batch.append(events[index]); index += 1 }
                store.apply(batch, source: "test")
                store.tick()
            }
            clock.set(end)
            return store.jobSummaries().first
        }
        let live = try #require(replayed(batchSeconds: 1))
        for speed in [7.0, 60, 1_000] {
            let other = try #require(replayed(batchSeconds: speed))
            #expect(other.etaSeconds == live.etaSeconds && other.etaLowerSeconds == live.etaLowerSeconds
                    && other.etaUpperSeconds == live.etaUpperSeconds && other.waitingOn == live.waitingOn, "batches of \(speed) s")
        }
        // A snapshot taken and restored keeps the job's earlier estimates, so its band too.
        let clock = ManualClock(end)
        let store = ProgressStore(clock: clock)
        store.apply(events, source: "test")
        let copy = ProgressStore(clock: clock)
        try copy.restore(from: store.snapshot().bytes)
        #expect(copy.jobSummaries() == store.jobSummaries())
        #expect(try #require(store.jobSummaries().first).etaLowerSeconds == live.etaLowerSeconds)
    }

    @Test func workWeightedETCOnATwoPhaseJob() throws {
        // Two agents: 100 small items (work 1, 1 s each), then 10 big ones (work 50, 50 s each).
        // At +50 s the small ones are done: 10 items are left, but 500 of the 600 units of work.
        func job(_ name: String, withWork: Bool) -> [Event] {
            var started = E.jobStarted(name, total: 110, at: t0)
            if withWork { started.totalWork = 600 }
            var events = [started]
            for i in 0..<100 {
                let agent = "a\(i % 2)", start = t0 + Double(i / 2)
                events.append(E.started(name, agent, item: "s\(i)", at: start))
                var done = E.completed(name, agent, item: "s\(i)", at: start + 1, duration: 1)
                if withWork { done.work = 1 }
                events.append(done)
            }
            events.append(E.started(name, "a0", item: "b0", at: t0 + 50))
            events.append(E.started(name, "a1", item: "b1", at: t0 + 50))
            return events
        }
        let clock = ManualClock(t0 + 50)
        let store = ProgressStore(clock: clock)
        store.apply(job("bytes", withWork: true) + job("items", withWork: false), source: "test")
        let byWork = try #require(store.jobSummaries().first { $0.job == "bytes" })
        let byItems = try #require(store.jobSummaries().first { $0.job == "items" })
        let seconds = try #require(byWork.etaSeconds)
        // 500 units at 2 a second (two agents, 1 unit a second each): 250 s.
        #expect(abs(seconds - 250) / 250 < 0.1, "work left over work a second: \(seconds)")
        #expect(try #require(byItems.etaSeconds) < 30, "counting items, 10 left at 2/s look like seconds")
        #expect(byWork.plannedWork == 600 && byWork.finishedWork == 100)
        #expect(abs(try #require(byWork.workPerSecond) - 2) < 0.2)
        #expect(byItems.plannedWork == nil && byItems.workPerSecond == nil)

        // The fields as trackers send them, and hostile values refused.
        let decoder = NativeEventDecoder()
        let line = #"{"type":"item_completed","job":"j","agent":"a","item":"i","work":4294967296}"#
        #expect(try decoder.decode(line: Array(line.utf8)).get().work == 4_294_967_296)
        let added = #"{"type":"job_items_added","job":"j","count":3,"total_work":1.5e9}"#
        #expect(try decoder.decode(line: Array(added.utf8)).get().totalWork == 1.5e9)
        for bad in [#""work":-1"#, #""work":1e300"#, #""total_work":"many""#] {
            let text = #"{"type":"item_completed","job":"j","agent":"a","item":"i",\#(bad)}"#
            guard case .failure = decoder.decode(line: Array(text.utf8)) else {
                Issue.record("\(bad) was accepted")
                continue
            }
        }
    }

    @Test func theDurationsSinceTheyLastChangedAreFoundAndOneLongItemIsNoChange() {
        var sample = DurationSample()
        for i in 0..<200 { sample.add(3 + Double(i % 5) * 0.1) }
        #expect(sample.sinceChange(minimumSide: 16) == nil, "steady durations")
        sample.add(90)   // one straggler among them
        for i in 0..<20 { sample.add(3 + Double(i % 5) * 0.1) }
        #expect(sample.sinceChange(minimumSide: 16) == nil, "one long item is the tail, not a change")
        for i in 0..<30 { sample.add(10 + Double(i % 3)) }
        let since = sample.sinceChange(minimumSide: 16)
        #expect(since?.count == 30 && since?.allSatisfy { $0 >= 10 } == true, "the 30 slower items: \(since ?? [])")
        // Two changes: the last counts.
        for _ in 0..<40 { sample.add(1) }
        #expect(sample.sinceChange(minimumSide: 16) == Array(repeating: 1, count: 40))
    }

    @Test func itemsThatSlowDownMoveTheEndAsWellAsTheRate() throws {
        // One agent: 100 items of 1 s, then items of 10 s; at +300 twenty slow ones are done, 10 remain.
        var events = [E.jobStarted("j", total: 131, at: t0)]
        var t = t0
        for i in 0..<120 {
            let seconds = i < 100 ? 1.0 : 10.0
            events.append(E.started("j", "a", item: "i\(i)", at: t))
            events.append(E.completed("j", "a", item: "i\(i)", at: t + seconds, duration: seconds))
            t += seconds
        }
        events.append(E.started("j", "a", item: "i120", at: t))
        let clock = ManualClock(t + 1)
        let store = ProgressStore(clock: clock)
        store.apply(events, source: "test")
        let summary = try eta(store)
        let seconds = try #require(summary.etaSeconds)
        // 11 items of 10 s left, one of them 1 s in: about 109 s, not 11 items at the record's 2.5 s.
        #expect(abs(seconds - 109) / 109 < 0.15, "\(seconds)")
        let lower = try #require(summary.etaLowerSeconds), upper = try #require(summary.etaUpperSeconds)
        #expect(lower < 109 && 109 < upper, "\(lower)-\(upper)")
    }

    @Test func aLastItemsAgingProgressReportIsNotExtrapolatedToNow() throws {
        // The last item started at +60 and reported 50 % at +62: it ends about +64. Read at +63:
        // about a second left, not the 3 s that "half done after 3 s" would say.
        let work = steadyWork(agents: 5, seconds: 4, until: t0 + 60)
        var events = [E.jobStarted("j", total: Int64(work.count / 2) + 1, at: t0)] + work
        events.append(E.started("j", "a0", item: "last", at: t0 + 60))
        var progress = Event(kind: .agentProgress, job: "j", agent: "a0", item: "last", time: t0 + 62)
        progress.progress = 0.5
        events.append(progress)
        let clock = ManualClock(t0 + 63)
        let store = ProgressStore(clock: clock)
        store.apply(events, source: "test")
        let seconds = try #require(try eta(store).etaSeconds)
        #expect(seconds < 1.6, "\(seconds)")
    }
}
