import Testing
@testable import Tracking

@Suite struct RollingCounterTests {
    @Test func constantRateOverEveryWindow() {
        var counter = RollingCounter(bucketSeconds: 1, span: 900)
        let start = 1000.0
        // 2 events a second for 20 minutes.
        for second in 0..<1200 {
            counter.add(at: start + Double(second))
            counter.add(at: start + Double(second) + 0.5)
        }
        let now = start + 1200
        for window in [60.0, 300, 900] {
            #expect(abs(counter.rate(window: window, now: now, since: start) - 2) < 0.05, "window \(window)")
        }
    }

    @Test func youngSeriesIsMeasuredFromItsFirstEvent() {
        var counter = RollingCounter(bucketSeconds: 1, span: 900)
        let start = 5000.0
        for i in 0..<300 { counter.add(at: start + Double(i) * 0.05) }
        // 300 items in 15 s: 20/s, not 5/s over a 1m window.
        #expect(abs(counter.rate(window: 60, now: start + 15, since: start) - 20) < 0.01)
    }

    @Test func stopDrainsTheWindow() {
        var counter = RollingCounter(bucketSeconds: 1, span: 900)
        for i in 0..<600 { counter.add(at: Double(i)) }
        #expect(counter.rate(window: 60, now: 600, since: 0) > 0.9)
        #expect(counter.rate(window: 60, now: 661, since: 0) == 0)
        #expect(counter.sum(window: 900, now: 2000).count == 0)
    }

    @Test func burstThenRestart() {
        var counter = RollingCounter(bucketSeconds: 1, span: 900)
        for _ in 0..<120 { counter.add(at: 100) }
        #expect(counter.sum(window: 60, now: 130).count == 120)
        #expect(counter.sum(window: 60, now: 161).count == 0)
        // Restart far later than one turn of the ring: old buckets must not reappear.
        counter.add(at: 100 + 5000)
        #expect(counter.sum(window: 900, now: 100 + 5000).count == 1)
    }

    @Test func outOfOrderEventsLandInTheirBucket() {
        var counter = RollingCounter(bucketSeconds: 10, span: 300)
        counter.add(at: 1000)
        let recent = counter.add(at: 950)
        let tooOld = counter.add(at: 1000 - 300)
        #expect(recent)
        #expect(!tooOld, "older than the span is not held")
        #expect(counter.sum(window: 60, now: 1000).count == 2)
        #expect(counter.sum(window: 10, now: 1000).count == 1)
    }

    /// Sums walk the ring from one computed slot: windows wider than the span, times before 1970
    /// (negative bucket indices) and a head that wrapped many times must all count right.
    @Test func sumsAcrossTheRingsEdges() {
        var counter = RollingCounter(bucketSeconds: 10, span: 300)
        for second in stride(from: -95.0, through: 95, by: 10) { counter.add(at: second) }
        #expect(counter.sum(window: 60, now: 95).count == 6)
        #expect(counter.sum(window: 10_000, now: 95).count == 20, "a window wider than the span counts what the span holds")
        #expect(counter.sum(window: 60, now: -5).count == 6, "a window that ends before the head")
        var wrapped = RollingCounter(bucketSeconds: 10, span: 300)
        for second in stride(from: 0.0, to: 30_000, by: 10) { wrapped.add(at: second) }
        #expect(wrapped.sum(window: 300, now: 29_990).count == 30)
        #expect(wrapped.sum(window: 300, now: 29_990 + 150).count == 15)
    }

    /// Sums use a running total when that is shorter; they must equal adding up the buckets, for
    /// every window and time, after events in and out of order, gaps and wraps of the ring.
    @Test func sumsEqualAddingUpTheEvents() {
        var generator = SplitMix64(seed: 7)
        for (bucket, span) in [(10.0, 300.0), (1.0, 900.0), (30.0, 600.0)] {
            var counter = RollingCounter(bucketSeconds: bucket, span: span)
            var events: [(time: Double, count: UInt32)] = []
            var now = 1_000.0
            for _ in 0..<1_000 {
                now += Double(generator.next() % 100) / 10 * (generator.next() % 50 == 0 ? 40 : 1)
                let time = now - Double(generator.next() % UInt64(span * 1.2))
                let count = UInt32(generator.next() % 3 + 1)
                if counter.add(at: time, count: count) { events.append((time, count)) }
                for window in [bucket, 60, 300, span, span * 2] {
                    let query = now + Double(generator.next() % 30) - 10
                    let (sum, start) = counter.sum(window: window, now: query)
                    let head = Int64((events.map(\.time).max()! / bucket).rounded(.down))
                    let queryIndex = Int64((query / bucket).rounded(.down))
                    let k = max(1, Int64((window / bucket).rounded()))
                    let expected = events.filter { event in
                        let index = Int64((event.time / bucket).rounded(.down))
                        // Held (within the span of the newest bucket) and inside the window.
                        return index > head - Int64((span / bucket).rounded(.up)) && index > queryIndex - k && index <= queryIndex
                    }.reduce(UInt64(0)) { $0 + UInt64($1.count) }
                    #expect(sum == expected, "bucket \(bucket) window \(window) at \(query)")
                    #expect(start == Double(queryIndex - k + 1) * bucket)
                    if sum != expected { return }
                }
            }
        }
    }
}

