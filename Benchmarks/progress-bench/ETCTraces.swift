// Synthetic job traces with a known true end, for the ETC accuracy harness (`progress-bench etc`).
// A trace is a seeded discrete-event simulation of agents taking items from one queue; it yields
// the native events with their event times and the times they reach the exporter.
import Events
import ExporterApp
import Foundation

/// A small, seeded generator (SplitMix64): the same trace every run.
struct SeededRandom {
    private var generator: SplitMix64
    init(seed: UInt64) { generator = SplitMix64(seed: seed) }

    mutating func next() -> UInt64 { generator.next() }

    /// Uniform in [0, 1).
    mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }

    mutating func uniform(_ range: ClosedRange<Double>) -> Double {
        range.lowerBound + unit() * (range.upperBound - range.lowerBound)
    }

    /// Standard normal (Box-Muller).
    mutating func normal() -> Double {
        let u1 = max(unit(), 1e-12), u2 = unit()
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }

    /// Log-normal with the given median and shape.
    mutating func logNormal(median: Double, sigma: Double) -> Double { median * exp(sigma * normal()) }
}

/// The shape of one simulated job.
struct TraceShape {
    var name: String
    var summary: String
    var agents: Int
    var items: Int
    /// Seconds an attempt takes, drawn per attempt; `agent` and `time` let a trace slow some down.
    var duration: (inout SeededRandom, _ agent: Int, _ time: Double, _ item: Int) -> Double
    /// When agent `i` starts taking items (ramp-up).
    var joinTime: (Int) -> Double = { _ in 0 }
    /// When agent `i` stops taking new items (agents leaving); nil: never.
    var leaveTime: (Int) -> Double? = { _ in nil }
    /// Probability that an attempt fails (retryable); the item goes back to the queue.
    var failureProbability: Double = 0
    /// Items added while the job runs: (time, count).
    var added: [(time: Double, count: Int)] = []
    /// Events reach the exporter in batches every this many seconds (a file read periodically); 0: at once.
    var deliveryPeriod: Double = 0
    /// One item that reports `progress` of itself and then says nothing for `silence` more seconds
    /// before it completes (a stuck item); nil: none.
    var stall: (item: Int, progress: Double, silence: Double)?
    var seed: UInt64 = 1
}

struct TimedEvent {
    var event: Event
    /// Event time (the `ts` it carries).
    var time: Double
    /// When the exporter receives it.
    var delivered: Double
}

struct Trace {
    var name: String
    var summary: String
    var start: Double
    var events: [TimedEvent]
    /// Time the last item finished: the truth every estimate is judged against.
    var end: Double
    /// When the stuck item (`TraceShape.stall`) reported its last progress; nil without one.
    var stallFrom: Double? = nil
    var duration: Double { end - start }
}

extension TraceShape {
    func simulate(start: Double, job: String) -> Trace {
        var random = SeededRandom(seed: seed)
        var events: [TimedEvent] = []
        func emit(_ event: Event, at time: Double) {
            let delivered = deliveryPeriod > 0 ? (time / deliveryPeriod).rounded(.up) * deliveryPeriod : time
            events.append(TimedEvent(event: event, time: time, delivered: delivered))
        }
        var started = Event(kind: .jobStarted, job: job, time: start)
        started.totalItems = Int64(items)
        emit(started, at: start)

        var queue: [Int] = Array((0..<items).reversed())   // pop from the end: item 0 first
        var nextItem = items
        var pendingAdds = added.sorted { $0.time < $1.time }
        var free = (0..<agents).map { start + joinTime($0) }
        var end = start
        var stallFrom: Double?
        while true {
            // The agent that is free first and may still take items.
            var best = -1
            for a in 0..<agents where free[a].isFinite {
                if let leave = leaveTime(a), free[a] >= start + leave { continue }
                if best < 0 || free[a] < free[best] { best = a }
            }
            if best < 0 { break }
            let now = free[best]
            while let add = pendingAdds.first, start + add.time <= now {
                pendingAdds.removeFirst()
                var e = Event(kind: .jobItemsAdded, job: job, time: start + add.time)
                e.count = Int64(add.count)
                emit(e, at: start + add.time)
                for _ in 0..<add.count { queue.insert(nextItem, at: 0); nextItem += 1 }
            }
            guard let item = queue.popLast() else {
                if let add = pendingAdds.first {
                    // Idle until more items arrive.
                    free[best] = max(now, start + add.time)
                    continue
                }
                free[best] = .infinity
                continue
            }
            let agent = "agent-\(best)"
            let itemID = "item-\(item)"
            var took = max(0.05, duration(&random, best, now - start, item))
            var s = Event(kind: .agentStarted, job: job, agent: agent, item: itemID, time: now)
            s.totalSteps = 2
            emit(s, at: now)
            let reported = stall?.item == item ? stall!.progress : 0.5
            var p = Event(kind: .agentProgress, job: job, agent: agent, item: itemID, time: now + took * reported)
            p.progress = reported
            emit(p, at: now + took * reported)
            if let stall, stall.item == item {
                stallFrom = now + took * reported
                took += stall.silence
            }
            let done = now + took
            if random.unit() < failureProbability {
                var f = Event(kind: .itemFailed, job: job, agent: agent, item: itemID, time: done)
                f.retryable = true
                f.error = "transient"
                emit(f, at: done)
                queue.insert(item, at: max(0, queue.count - agents))   // retried soon, behind the next few
            } else {
                var c = Event(kind: .itemCompleted, job: job, agent: agent, item: itemID, time: done)
                c.durationSeconds = took
                emit(c, at: done)
                end = max(end, done)
            }
            free[best] = done
        }
        events.sort { ($0.delivered, $0.time) < ($1.delivered, $1.time) }
        return Trace(name: name, summary: summary, start: start, events: events, end: end, stallFrom: stallFrom)
    }
}

/// The traces the issue names, each with a known true end.
func etcTraces() -> [TraceShape] {
    let steady = TraceShape(
        name: "steady", summary: "40 agents, 4,000 items of 3-5 s", agents: 40, items: 4_000,
        duration: { r, _, _, _ in r.uniform(3...5) })
    var ramp = steady
    ramp.name = "ramp-up"
    ramp.summary = "40 agents joining over the first 2 minutes, 4,000 items of 3-5 s"
    ramp.joinTime = { Double($0) * 3 }
    var rateChange = steady
    rateChange.name = "rate change"
    rateChange.summary = "40 agents, half leave at 150 s; 4,000 items of 3-5 s"
    rateChange.leaveTime = { $0 >= 20 ? 150 : nil }
    var slower = steady
    slower.name = "items slow down"
    slower.summary = "40 agents, items take 4 s, then 10 s from 120 s on"
    slower.duration = { r, _, t, _ in t < 120 ? r.uniform(3...5) : r.uniform(8...12) }
    var stragglers = steady
    stragglers.name = "stragglers"
    stragglers.summary = "40 agents, 4,000 items of 3-5 s; 1 in 200 takes 60-120 s"
    stragglers.duration = { r, _, _, _ in r.unit() < 0.005 ? r.uniform(60...120) : r.uniform(3...5) }
    var heavy = steady
    heavy.name = "heavy tail"
    heavy.summary = "40 agents, 4,000 log-normal items (median 4 s, sigma 1)"
    heavy.duration = { r, _, _, _ in r.logNormal(median: 4, sigma: 1) }
    var failures = steady
    failures.name = "failures + retries"
    failures.summary = "40 agents, 4,000 items of 3-5 s, 25 % of attempts fail and are retried"
    failures.failureProbability = 0.25
    var added = steady
    added.name = "items added"
    added.summary = "40 agents, 3,000 items, 2,000 more added at 120 s"
    added.items = 3_000
    added.added = [(120, 2_000)]
    var bursts = steady
    bursts.name = "late, in bursts"
    bursts.summary = "as steady, events read from a file every 30 s"
    bursts.deliveryPeriod = 30
    let long = TraceShape(
        name: "long (4 h)", summary: "100 agents, 24,000 log-normal items (median 60 s, sigma 0.3)",
        agents: 100, items: 24_000, duration: { r, _, _, _ in r.logNormal(median: 60, sigma: 0.3) })
    let short = TraceShape(
        name: "short (1 min)", summary: "20 agents, 1,000 items of 0.8-1.6 s", agents: 20, items: 1_000,
        duration: { r, _, _, _ in r.uniform(0.8...1.6) })
    let demo = TraceShape(
        name: "demo-like", summary: "25 agents, 3,000 items of 1-4 s (the built-in demo's shape)",
        agents: 25, items: 3_000, duration: { r, _, _, _ in r.uniform(1...4) })
    // The shapes issue 19 measured by hand: half of 20 agents leave at half of a 3-minute job; one
    // item of the last few reports 75 % and then nothing for 40 s while everything else finishes.
    var leave = TraceShape(
        name: "half leave at 50 %", summary: "20 agents, 1,200 items of 2-4 s, 10 agents leave at 90 s",
        agents: 20, items: 1_200, duration: { r, _, _, _ in r.uniform(2...4) })
    leave.leaveTime = { $0 >= 10 ? 90 : nil }
    var stuck = TraceShape(
        name: "stuck last item", summary: "10 agents, 200 items of 1-4 s; item 185 reports 75 %, then nothing for 40 s",
        agents: 10, items: 200, duration: { r, _, _, _ in r.uniform(1...4) })
    stuck.stall = (185, 0.75, 40)
    return [steady, ramp, rateChange, slower, stragglers, heavy, failures, added, bursts, long, short, demo, leave, stuck]
}
