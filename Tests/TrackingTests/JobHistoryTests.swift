import Events
import Testing
@testable import Tracking

@Suite struct JobHistoryTests {
    static func point(_ time: Double, finished: UInt64 = 0, throughput: Double = 0) -> JobHistoryPoint {
        JobHistoryPoint(time: time, finished: finished, failed: 0, remaining: nil, throughput: throughput,
                        etaSeconds: nil, etaLowerSeconds: nil, etaUpperSeconds: nil)
    }

    @Test func onePointPerIntervalThenPairsMergeAndTheIntervalDoubles() {
        var history = JobHistory()
        for second in 0 ..< 3600 { history.record(Self.point(Double(second), finished: UInt64(second))) }
        // One point every 10 s for the first hour: 360 points.
        #expect(history.points.count == 360)
        #expect(history.interval == 10)
        #expect(history.points[1].time - history.points[0].time == 10)
        history.record(Self.point(3600, finished: 3600))
        #expect(history.points.count == 181, "the first point and 180 merged pairs")
        #expect(history.interval == 20)
        #expect(history.points.first?.time == 0, "the start is never merged away")
        #expect(history.points.last?.time == 3600)
        // Merging keeps the later point of each pair, with the pair's mean throughput.
        #expect(history.points[1].time == 20 && history.points[1].finished == 20)
        // Ten hours more stay within the capacity, spread over the whole job.
        for second in 3601 ..< 40_000 { history.record(Self.point(Double(second), throughput: 1)) }
        #expect(history.points.count <= JobHistory.capacity)
        #expect(history.points.count > JobHistory.capacity / 2)
        #expect(history.points.first?.time == 0)
        #expect(history.points.last!.time > 39_000)
        #expect(zip(history.points, history.points.dropFirst()).allSatisfy { $0.time < $1.time })
    }

    @Test func pointsBeforeTheIntervalOrWithBadTimesAreSkipped() {
        var history = JobHistory()
        history.record(Self.point(100))
        history.record(Self.point(105))
        history.record(Self.point(99))
        history.record(Self.point(.nan))
        history.record(Self.point(.infinity))
        #expect(history.points.map(\.time) == [100])
        history.record(Self.point(110))
        #expect(history.points.map(\.time) == [100, 110])
    }

    @Test func rebuildsFromStoredPoints() {
        var original = JobHistory()
        for second in stride(from: 0.0, to: 5000, by: 10) { original.record(Self.point(second, throughput: second)) }
        let copy = JobHistory(points: original.points, interval: original.interval)
        #expect(copy == original)
        // Too many or unordered points are put in order and merged down to the capacity.
        let many = (0 ..< 1000).reversed().map { Self.point(Double($0) * 10) }
        let rebuilt = JobHistory(points: many + [Self.point(.nan)])
        #expect(rebuilt.points.count <= JobHistory.capacity)
        #expect(rebuilt.points.first?.time == 0)
        #expect(zip(rebuilt.points, rebuilt.points.dropFirst()).allSatisfy { $0.time < $1.time })
        #expect(JobHistory(points: [], interval: -5).interval == JobHistory.baseInterval)
    }

    @Test func theUpkeepTickRecordsTheJobsSummaryEveryTenSeconds() throws {
        let clock = ManualClock(1_800_000_000)
        let t0 = clock.now()
        var options = StoreOptions()
        options.jobRetention = 600
        let store = ProgressStore(options: options, clock: clock)
        store.apply([E.jobStarted("j", total: 100, at: t0)], source: "test")
        for second in 1 ... 60 {
            clock.advance(1)
            store.apply([E.completed("j", "a", item: "i\(second)", at: t0 + Double(second))], source: "test")
            store.tick()
        }
        let history = try #require(store.history(job: "j"))
        #expect(history.points.map { $0.time - t0 } == [1, 11, 21, 31, 41, 51])
        let last = try #require(history.points.last)
        #expect(last.finished == 51)
        #expect(last.remaining == 49)
        let summary = try #require(store.jobSummaries().first)
        #expect(last.throughput > 0)
        #expect(last.etaSeconds != nil && last.etaLowerSeconds != nil && last.etaUpperSeconds != nil)
        #expect(summary.finished == 60)
        #expect(store.history(job: "nope") == nil)

        // An ended job gets one point after its end, then stays as it is until retention forgets it.
        store.apply([E.ended("j", at: t0 + 60)], source: "test")
        for _ in 0 ..< 100 { clock.advance(1); store.tick() }
        let ended = try #require(store.history(job: "j"))
        #expect(ended.points.count == history.points.count + 1)
        #expect(ended.points.last?.finished == 60 && ended.points.last?.remaining == 40)
        clock.advance(600)
        store.tick()
        #expect(store.history(job: "j") == nil)
    }
}
