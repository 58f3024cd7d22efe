// `progress-bench soak`: jobs coming and going. Each round starts 200 jobs of 500 agents (100,000
// agents, one agent_started and one item_completed each), ends them, and moves a simulated clock
// past --jobs.retention; over 10 rounds a million agents and 2,000 jobs pass through. RSS and the
// snapshot size must stay flat: what ended is forgotten.
import Clocks
import Events
import ExporterApp
import Foundation
import Synchronization
import Tracking

final class SoakClock: TimeSource {
    private let current = Mutex<Double>(1_800_000_000)
    func now() -> Double { current.withLock { $0 } }
    func advance(_ seconds: Double) { current.withLock { $0 += seconds } }
}

func benchSoak() {
    print("## Soak: jobs coming and going (200 jobs x 500 agents a round, ended and expired after --jobs.retention)")
    print("| round | agents seen so far | jobs tracked | agents tracked | snapshot bytes | RSS MB |")
    print("|---|---|---|---|---|---|")
    let clock = SoakClock()
    var options = StoreOptions()
    options.jobRetention = 600
    options.agentRetention = 3600
    let store = ProgressStore(options: options, clock: clock)
    let ingestor = Ingestor(store: store, limits: DecoderLimits())
    var seen = 0
    for round in 1...10 {
        let now = clock.now()
        for job in 0..<200 {
            var body: [UInt8] = []
            let name = "soak-\(round)-\(job)"
            body.append(contentsOf: #"{"type":"job_started","job":"\#(name)","total_items":500,"ts":\#(now)}"#.utf8 + [10])
            for agent in 0..<500 {
                body.append(contentsOf: #"{"type":"agent_started","job":"\#(name)","agent":"a\#(agent)","item":"i\#(agent)","ts":\#(now)}"#.utf8 + [10])
                body.append(contentsOf: #"{"type":"item_completed","job":"\#(name)","agent":"a\#(agent)","item":"i\#(agent)","ts":\#(now + 1)}"#.utf8 + [10])
            }
            body.append(contentsOf: #"{"type":"job_completed","job":"\#(name)","ts":\#(now + 2)}"#.utf8 + [10])
            ingestor.ingestNative(body, source: "bench")
        }
        seen += 100_000
        let tracked = store.jobSummaries()
        let agents = tracked.reduce(0) { $0 + $1.agents.values.reduce(0, +) }
        let snapshot = store.snapshot().bytes.count
        print("| \(round) | \(seen) | \(tracked.count) | \(agents) | \(snapshot) | \(residentBytes() / 1_000_000) |")
        // The round's jobs end; past the retention they are forgotten.
        clock.advance(700)
        ingestor.tick()
    }
}
