// `progress-bench scale`: what tracked-but-idle agents cost. 100 jobs of N/100 agents, one
// agent_started each, registered in batches of 10,000 through the Ingestor; then the per-second
// upkeep (store tick + one alert evaluation with the default rules: the idle CPU), a scrape with the
// default sample of 1,000 agents, and the longest single hold of the store's lock by each.
import Alerting
import Events
import ExporterApp
import Exposition
import Foundation
import Tracking

func agentStartedBody(job: Int, from first: Int, count: Int, ts: Double) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(count * 110)
    for i in first..<first + count {
        out.append(contentsOf: #"{"type":"agent_started","job":"scale-\#(job)","agent":"agent-\#(i)","item":"item-\#(i)","ts":\#(ts)}"#.utf8)
        out.append(10)
    }
    return out
}

/// What `scale` and `pauses` start from: a store with the default options, its ingestor, an alert
/// engine with the default rules, and the bodies that register 100 jobs of N/100 agents.
enum ScaleSetup {
    static func make() -> (ProgressStore, Ingestor, AlertEngine) {
        let store = ProgressStore(options: StoreOptions())
        let ingestor = Ingestor(store: store, limits: DecoderLimits())
        let engine = AlertEngine(store: store, setup: AlertingSetup(
            rules: AlertRule.defaults, routes: [], receivers: ["null"], externalURL: ""), sink: NullSink())
        return (store, ingestor, engine)
    }

    /// `agent_started` bodies of at most 10,000 events for 100 jobs of `agents / 100` agents, 10 s ago.
    static func registrationBodies(agents: Int) -> [[UInt8]] {
        let now = Date().timeIntervalSince1970
        let perJob = agents / 100
        var bodies: [[UInt8]] = []
        for job in 0..<100 {
            var first = 0
            while first < perJob {
                let n = min(10_000, perJob - first)
                bodies.append(agentStartedBody(job: job, from: first, count: n, ts: now - 10))
                first += n
            }
        }
        return bodies
    }
}

func benchScale() {
    let sizes = (ProcessInfo.processInfo.environment["PE_SCALE_AGENTS"] ?? "100000,1000000").split(separator: ",").compactMap { Int($0) }
    print("## Scale: costs against tracked agents (100 jobs, default rules, default sample of 1,000)")
    print("| tracked agents | register events/s | tick ms | evaluate ms | idle CPU (tick + evaluate per second) | scrape ms | scrape bytes | RSS MB |")
    print("|---|---|---|---|---|---|---|---|")
    for agents in sizes {
        let (store, ingestor, engine) = ScaleSetup.make()
        var bodies = ScaleSetup.registrationBodies(agents: agents)
        let events = Double(agents)
        let register = seconds { for body in bodies { ingestor.ingestNative(body, source: "bench") } }
        bodies = []
        var ticks: [Double] = []
        var evaluations: [Double] = []
        for _ in 0..<5 {
            ticks.append(seconds { ingestor.tick() })
            evaluations.append(seconds { engine.evaluate() })
        }
        ticks.sort()
        evaluations.sort()
        var bytes = 0
        var scrapes: [Double] = []
        let exposition = StoreExposition(store)
        for _ in 0..<5 {
            scrapes.append(seconds {
                var writer = ExpositionWriter(format: .prometheusText)
                exposition.collect(into: &writer, mustKeep: engine.agentsWithAlerts())
                engine.collect(into: &writer)
                bytes = writer.finish().count
            })
        }
        scrapes.sort()
        let idle = (ticks[2] + evaluations[2]) * 100
        print("| \(agents) | \(Int(events / register)) | \(String(format: "%.1f", ticks[2] * 1000)) | \(String(format: "%.1f", evaluations[2] * 1000)) | \(String(format: "%.0f", idle)) % of a core | \(String(format: "%.1f", scrapes[2] * 1000)) | \(bytes) | \(residentBytes() / 1_000_000) |")
    }
}
