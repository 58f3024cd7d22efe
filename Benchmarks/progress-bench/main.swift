// In-process benchmarks of the hot paths: decode + apply, and /metrics rendering.
// Run from a release build: swift build -c release && .build/release/progress-bench [ingest|encode|memory|alerts|etc [--log FILE]|storage|all], or etc-cost, scale, soak or pauses alone
import Alerting
import Events
import ExporterApp
import Exposition
import Foundation
import Tracking

func seconds(_ body: () -> Void) -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

func residentBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = text.split(separator: " ")
    return (Int(fields[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE)))
}

/// NDJSON of `count` realistic events over `agents` agents of 10 jobs.
func eventBody(count: Int, agents: Int, start: Double) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(count * 140)
    for i in 0..<count {
        let agent = i % agents
        let job = agent % 10
        let ts = start + Double(i) * 0.0001
        let line: String
        switch i % 4 {
        case 0: line = #"{"type":"agent_progress","job":"job-\#(job)","agent":"agent-\#(agent)","step":"transform","steps_completed":2,"total_steps":4,"ts":\#(ts)}"#
        case 1: line = #"{"type":"agent_heartbeat","job":"job-\#(job)","agent":"agent-\#(agent)","ts":\#(ts)}"#
        case 2: line = #"{"type":"item_completed","job":"job-\#(job)","agent":"agent-\#(agent)","item":"item-\#(i)","duration_seconds":1.5,"ts":\#(ts)}"#
        default: line = #"{"type":"agent_started","job":"job-\#(job)","agent":"agent-\#(agent)","item":"item-\#(i + 1)","total_steps":4,"ts":\#(ts)}"#
        }
        out.append(contentsOf: line.utf8)
        out.append(UInt8(ascii: "\n"))
    }
    return out
}

func benchIngest() {
    let count = Int(ProcessInfo.processInfo.environment["PE_BENCH_EVENTS"] ?? "") ?? 1_000_000
    let repetitions = Int(ProcessInfo.processInfo.environment["PE_BENCH_REPS"] ?? "") ?? 5
    print("## In-process ingest (decode + apply, one thread; \(repetitions) runs each, median and best)")
    print("| agents | events | events/s median | events/s best | ns/event median | decode only ns/event | apply only ns/event |")
    print("|---|---|---|---|---|---|---|")
    for agents in [1_000, 10_000] {
        let now = Date().timeIntervalSince1970
        let body = eventBody(count: count, agents: agents, start: now - 200)
        var options = StoreOptions()
        options.maxAgentSeries = 100_000
        // Batches of 10,000 lines, as a tracker posting every few hundred milliseconds would send.
        var batches: [[UInt8]] = []
        var start = 0
        var lines = 0
        for (index, byte) in body.enumerated() where byte == UInt8(ascii: "\n") {
            lines += 1
            if lines % 10_000 == 0 { batches.append(Array(body[start...index])); start = index + 1 }
        }
        let decoder = NativeEventDecoder()
        let decodedBatches = batches.map { batch in
            var events: [Event] = []
            decoder.decodeBody(batch, onEvent: { events.append($0) }, onReject: { _, _ in })
            return events
        }
        var totals: [Double] = [], decodes: [Double] = [], applies: [Double] = []
        for _ in 0..<repetitions {
            // Each run starts from an empty store, so every run registers the agents anew.
            let ingestor = Ingestor(store: ProgressStore(options: options), limits: DecoderLimits())
            totals.append(seconds { for batch in batches { ingestor.ingestNative(batch, source: "bench") } })
            var decoded = 0
            decodes.append(seconds { for batch in batches { decoder.decodeBody(batch, onEvent: { _ in decoded += 1 }, onReject: { _, _ in }) } })
            precondition(decoded == count, "every line decodes")
            // Apply alone: the same batches decoded beforehand, applied to a fresh store.
            let applyIngestor = Ingestor(store: ProgressStore(options: options), limits: DecoderLimits())
            applies.append(seconds { for events in decodedBatches { applyIngestor.ingestEvents(events, source: "bench") } })
        }
        func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
        func ns(_ seconds: Double) -> Int { Int(seconds / Double(count) * 1e9) }
        print("| \(agents) | \(count) | \(Int(Double(count) / median(totals))) | \(Int(Double(count) / totals.min()!)) | \(ns(median(totals))) | \(ns(median(decodes))) | \(ns(median(applies))) |")
    }
}

func store(agents: Int) -> ProgressStore {
    var options = StoreOptions()
    options.maxAgentSeries = agents
    let store = ProgressStore(options: options)
    let ingestor = Ingestor(store: store, limits: DecoderLimits())
    let now = Date().timeIntervalSince1970
    // Each job announces its planned items (ten an agent), so every scrape computes its ETC.
    ingestor.ingestNative(Array((0..<10).map { #"{"type":"job_started","job":"job-\#($0)","total_items":\#(agents),"ts":\#(now - 101)}"# + "\n" }.joined().utf8), source: "bench")
    var remaining = agents * 4
    var offset = 0
    while remaining > 0 {
        let n = min(remaining, 100_000)
        ingestor.ingestNative(eventBody(count: n, agents: agents, start: now - 100 + Double(offset) * 0.0001), source: "bench")
        remaining -= n
        offset += n
    }
    return store
}

func benchEncode() {
    print("## /metrics render (store only, every agent kept)")
    print("A scrape renders again only the jobs that changed since the previous one, plus the lines that depend on")
    print("the time (rates, ETCs): \"unchanged\" is a scrape after one without events between them, \"every job changed\"")
    print("one after an event in each job (the cost of every scrape before the jobs' lines were kept).")
    print("")
    print("| agents | format | unchanged ms median of 11 | ms best | every job changed ms median of 11 | ms best | bytes | series |")
    print("|---|---|---|---|---|---|---|---|")
    for agents in [1_000, 10_000, 100_000] {
        let s = store(agents: agents)
        let jobs = s.jobSummaries().map(\.job)
        for format in [ExpositionFormat.prometheusText, .openMetrics] {
            var unchanged: [Double] = []
            var changed: [Double] = []
            var bytes = 0
            // As the /metrics endpoint does: buffers kept from one scrape to the next, the body left in pieces.
            let sections = CollectSections()
            let exposition = StoreExposition(s)
            let own = ByteBuffer()
            var pieces: ExpositionPieces?
            func render() -> Double {
                seconds {
                    var writer = ExpositionWriter(format: format, reusing: own)
                    exposition.collect(into: &writer, sections: sections)
                    pieces = writer.finishPieces()
                    bytes = pieces!.count
                }
            }
            for round in 0..<11 {
                // One heartbeat of an agent it has (agent-N is job-(N % 10)'s) changes every job, not the body's size.
                Ingestor(store: s, limits: DecoderLimits()).ingestEvents(jobs.map { job in
                    Event(kind: .agentHeartbeat, job: job, agent: "agent-\(Int(job.dropFirst(4))! + 10 * round)", time: s.now)
                }, source: "bench")
                changed.append(render())
                unchanged.append(render())
            }
            unchanged.sort()
            changed.sort()
            let series = pieces!.joined.split(separator: UInt8(ascii: "\n")).filter { $0.first != UInt8(ascii: "#") }.count
            func ms(_ t: Double) -> String { String(format: "%.2f", t * 1000) }
            print("| \(agents) | \(format == .openMetrics ? "OpenMetrics" : "text 0.0.4") | \(ms(unchanged[5])) | \(ms(unchanged[0])) | \(ms(changed[5])) | \(ms(changed[0])) | \(bytes) | \(series) |")
        }
    }
}

/// RSS after glibc returned freed memory to the system (malloc_trim), so freed temporaries do not count.
func heapInUse() -> Int {
    typealias Trim = @convention(c) (Int) -> Int32
    if let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") {
        _ = unsafeBitCast(symbol, to: Trim.self)(0)
    }
    return residentBytes()
}

func benchMemory() {
    print("## Memory (RSS growth after malloc_trim; 10 jobs, each agent with 4 events and 1 finished item)")
    print("| agents | MiB | bytes/agent | RSS MiB |")
    print("|---|---|---|---|")
    for agents in [10_000, 100_000] {
        let before = heapInUse()
        let s = store(agents: agents)
        let after = heapInUse()
        print("| \(agents) | \(String(format: "%.1f", Double(after - before) / 1_048_576)) | \((after - before) / agents) | \(residentBytes() / 1_048_576) |")
        withExtendedLifetime(s) {}
    }
}

/// Records nothing: the alert benchmark measures evaluation, not delivery.
struct NullSink: NotificationSink {
    func enqueue(_ notifications: [AlertNotification], to receiver: String) {}
}

func benchAlerts() {
    print("## Alerts: every agent silent past the thresholds (AgentStalled and AgentLost active for each)")
    print("| agents | active alerts | evaluate ms | /metrics render ms |")
    print("|---|---|---|---|")
    for agents in [10_000, 50_000] {
        let s = store(agents: agents)
        let engine = AlertEngine(store: s, setup: AlertingSetup(
            rules: AlertRule.defaults.map { var rule = $0; rule.after = 0; rule.forDuration = 0; return rule },
            routes: [], receivers: ["null"], externalURL: ""), sink: NullSink())
        engine.evaluate()
        var times: [Double] = []
        for _ in 0..<5 { times.append(seconds { engine.evaluate() }) }
        times.sort()
        let render = seconds {
            var writer = ExpositionWriter(format: .prometheusText)
            StoreExposition(s).collect(into: &writer, mustKeep: engine.agentsWithAlerts())
            engine.collect(into: &writer)
            _ = writer.finish()
        }
        print("| \(agents) | \(engine.activeAlerts().count) | \(String(format: "%.1f", times[2] * 1000)) | \(String(format: "%.1f", render * 1000)) |")
    }
}

/// One job of `agents` agents that each finished two 10 s items and hold a third running for 100 s:
/// an AgentSlow alert is pending for every agent (default rules) and holds on every evaluation.
func benchSlowAlerts() {
    print("## Alerts: one job whose every agent holds an item running 10x the median (AgentSlow pending for each, default rules)")
    print("| agents | active alerts | evaluate ms median of 5 | min |")
    print("|---|---|---|---|")
    for agents in [10_000, 50_000] {
        let store = ProgressStore(options: StoreOptions())
        let ingestor = Ingestor(store: store, limits: DecoderLimits())
        let now = Date().timeIntervalSince1970
        var body: [UInt8] = []
        for i in 0..<agents {
            for (n, start) in [now - 130, now - 120].enumerated() {
                body.append(contentsOf: #"{"type":"agent_started","job":"slow","agent":"agent-\#(i)","item":"i-\#(i)-\#(n)","ts":\#(start)}"#.utf8)
                body.append(10)
                body.append(contentsOf: #"{"type":"item_completed","job":"slow","agent":"agent-\#(i)","item":"i-\#(i)-\#(n)","duration_seconds":10,"ts":\#(start + 10)}"#.utf8)
                body.append(10)
            }
            body.append(contentsOf: #"{"type":"agent_started","job":"slow","agent":"agent-\#(i)","item":"i-\#(i)-long","ts":\#(now - 100)}"#.utf8)
            body.append(10)
            if i % 10_000 == 9_999 || i == agents - 1 {
                ingestor.ingestNative(body, source: "bench")
                body.removeAll(keepingCapacity: true)
            }
        }
        let engine = AlertEngine(store: store, setup: AlertingSetup(
            rules: AlertRule.defaults, routes: [], receivers: ["null"], externalURL: ""), sink: NullSink())
        engine.evaluate()
        var times: [Double] = []
        for _ in 0..<5 { times.append(seconds { engine.evaluate() }) }
        times.sort()
        print("| \(agents) | \(engine.activeAlerts().count) | \(String(format: "%.1f", times[2] * 1000)) | \(String(format: "%.1f", times[0] * 1000)) |")
    }
}

let which = CommandLine.arguments.dropFirst().first ?? "all"
if which == "alerts" || which == "all" { benchAlerts(); benchSlowAlerts() }
if which == "ingest" || which == "all" { benchIngest() }
if which == "encode" || which == "all" { benchEncode() }
if which == "memory" || which == "all" { benchMemory() }
if which == "etc" || which == "all" { benchETC(arguments: Array(CommandLine.arguments.dropFirst(2))) }
if which == "storage" || which == "all" { benchStorage() }
if which == "etc-cost" { benchETCCost() }
if which == "scale" { benchScale() }
if which == "soak" { benchSoak() }
if which == "pauses" { benchPauses() }
if which == "nats-publish" { benchNATSPublish(Array(CommandLine.arguments.dropFirst(2))) }
