// `progress-bench etc-cost`: what the ETC costs a read (every scrape, API call, history point and
// alert evaluation computes it for every job) in one job with many agents, each holding an item.
import Events
import Foundation
import Tracking

func benchETCCost() {
    print("## ETC cost: one job, every agent holding an item (jobSummaries, which computes the ETC; median of 11)")
    print("| agents | items in flight | overdue items | jobSummaries ms median | ms best |")
    print("|---|---|---|---|---|")
    for agents in [10_000, 100_000] {
        for overdue in [0, 100] {
            let clock = SimulatedClock(1_800_000_000)
            var options = StoreOptions()
            options.maxTrackedAgents = max(options.maxTrackedAgents, agents)
            let store = ProgressStore(options: options, clock: clock)
            let ingestor = Ingestor(store: store, limits: DecoderLimits())
            let start = 1_800_000_000.0
            var started = Event(kind: .jobStarted, job: "big", time: start)
            started.totalItems = Int64(agents) * 10
            var batch = [started]
            // Every agent finished one 10 s item and started another; `overdue` of them started theirs long ago.
            for i in 0..<agents {
                let agent = "agent-\(i)"
                let first = start + Double(i % 100) * 0.1
                batch.append(Event(kind: .agentStarted, job: "big", agent: agent, item: "a-\(i)", time: first))
                var done = Event(kind: .itemCompleted, job: "big", agent: agent, item: "a-\(i)", time: first + 10)
                done.durationSeconds = 10
                batch.append(done)
                batch.append(Event(kind: .agentStarted, job: "big", agent: agent, item: "b-\(i)", time: i < overdue ? start + 10 : start + 35 - Double(i % 100) * 0.01))
                if batch.count >= 30_000 {
                    ingestor.ingestEvents(batch, source: "bench")
                    batch.removeAll(keepingCapacity: true)
                }
            }
            ingestor.ingestEvents(batch, source: "bench")
            clock.set(start + 40)
            var times: [Double] = []
            var eta: Double?
            for _ in 0..<11 { times.append(seconds { eta = store.jobSummaries().first?.etaSeconds }) }
            times.sort()
            precondition(eta != nil, "the job has an ETC")
            print(String(format: "| %d | %d | %d | %.2f | %.2f |", agents, agents, overdue, times[5] * 1000, times[0] * 1000))
        }
    }

    print("")
    print("## ETC cost: many jobs, each with a full record of 1,024 durations and a new one before every read (the duration model is recomputed)")
    print("| jobs | jobSummaries ms median of 11 | ms best |")
    print("|---|---|---|")
    for jobs in [100, 1_000] {
        let clock = SimulatedClock(1_800_000_000)
        let store = ProgressStore(options: StoreOptions(), clock: clock)
        let ingestor = Ingestor(store: store, limits: DecoderLimits())
        let start = 1_800_000_000.0
        var batch: [Event] = []
        var random = SeededRandom(seed: 7)
        func item(_ job: Int, _ n: Int, at time: Double) {
            var done = Event(kind: .itemCompleted, job: "job-\(job)", agent: "a-\(n % 8)", item: "i-\(n)", time: time)
            done.durationSeconds = random.logNormal(median: 4, sigma: 0.5)
            batch.append(done)
        }
        for job in 0..<jobs {
            var started = Event(kind: .jobStarted, job: "job-\(job)", time: start)
            started.totalItems = 100_000
            batch.append(started)
            for n in 0..<1_024 { item(job, n, at: start + Double(n) * 0.01) }
            ingestor.ingestEvents(batch, source: "bench")
            batch.removeAll(keepingCapacity: true)
        }
        clock.set(start + 20)
        var times: [Double] = []
        for round in 0..<11 {
            for job in 0..<jobs { item(job, 10_000 + round, at: start + 11 + Double(round) * 0.1) }
            ingestor.ingestEvents(batch, source: "bench")
            batch.removeAll(keepingCapacity: true)
            times.append(seconds { _ = store.jobSummaries() })
        }
        times.sort()
        print(String(format: "| %d | %.2f | %.2f |", jobs, times[5] * 1000, times[0] * 1000))
    }
}
