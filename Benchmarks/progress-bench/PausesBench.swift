// `progress-bench pauses`: how long ingestion waits for the store while everything else runs.
// 100 jobs of N/100 agents (registered as in `scale`); then one thread applies batches of 100
// decoded events (progress, completions and item starts on random agents) back to back through
// `ProgressStore.apply`, timing every call (lock wait included), while one other activity runs
// over and over on its own thread: a scrape with the default sample, an alert evaluation with the
// default rules, the upkeep tick, API and live-stream reads, a snapshot capture; then all of them
// at once; first nothing (the baseline). Every thread's longest single hold of the store's lock is
// measured too.
import Alerting
import Dispatch
import Events
import ExporterApp
import Exposition
import Foundation
import Synchronization
import Tracking

/// `batches` batches of `size` events on random agents of the `scale` jobs: half progress, 30 %
/// completions of the agent's item (taking 30-90 s, so no agent is slow beside its peers within
/// the run: the alert rules evaluate, nothing fires), 20 % starts of a new item. No `ts`: each event
/// is placed at its arrival.
func randomBatches(agents: Int, batches: Int, size: Int) -> [[Event]] {
    var random = SplitMix64(seed: 42)
    let perJob = max(1, agents / 100)
    let decoder = NativeEventDecoder()
    var counter = 0
    return (0..<batches).map { _ in
        var body: [UInt8] = []
        body.reserveCapacity(size * 130)
        for _ in 0..<size {
            let job = Int.random(in: 0..<100, using: &random)
            let agent = Int.random(in: 0..<perJob, using: &random)
            let roll = Int.random(in: 0..<10, using: &random)
            counter += 1
            let line: String
            switch roll {
            case 0..<5: line = #"{"type":"agent_progress","job":"scale-\#(job)","agent":"agent-\#(agent)","steps_completed":\#(roll % 4),"total_steps":4}"#
            case 5..<8: line = #"{"type":"item_completed","job":"scale-\#(job)","agent":"agent-\#(agent)","duration_seconds":\#(30 + 30 * (roll - 5))}"#
            default: line = #"{"type":"agent_started","job":"scale-\#(job)","agent":"agent-\#(agent)","item":"w-\#(counter + 1)","total_steps":4}"#
            }
            body.append(contentsOf: line.utf8)
            body.append(10)
        }
        var events: [Event] = []
        decoder.decodeBody(body, onEvent: { events.append($0) }, onReject: { _, _ in })
        precondition(events.count == size, "every line decodes")
        return events
    }
}

final class Stop: Sendable {
    private let flag = Atomic<Bool>(false)
    var isSet: Bool { flag.load(ordering: .relaxed) }
    func set() { flag.store(true, ordering: .relaxed) }
}

/// Runs `body` on a thread of its own; the semaphore is signalled when it returns.
func onThread(_ body: @escaping @Sendable () -> Void) -> DispatchSemaphore {
    let done = DispatchSemaphore(value: 0)
    let thread = Thread {
        body()
        done.signal()
    }
    thread.stackSize = 8 << 20
    thread.start()
    return done
}

struct PauseActivity: Sendable {
    let name: String
    /// One run of the activity; called over and over with a short rest between runs.
    let run: @Sendable () -> Void
}

func benchPauses() {
    let env = ProcessInfo.processInfo.environment
    let sizes = (env["PE_PAUSES_AGENTS"] ?? "100000,1000000").split(separator: ",").compactMap { Int($0) }
    let phaseSeconds = Double(env["PE_PAUSES_SECONDS"] ?? "") ?? 4
    let batchSize = Int(env["PE_PAUSES_BATCH"] ?? "") ?? 100
    print("## Pauses: apply latency of batches of \(batchSize) events while other activities run (100 jobs, \(phaseSeconds) s each)")
    print("| tracked agents | running beside ingestion | runs | run ms median / max | its longest lock hold ms | apply p99 ms | apply max ms | applies/s | apply's longest hold ms |")
    print("|---|---|---|---|---|---|---|---|---|")
    for agents in sizes {
        let (store, ingestor, engine) = ScaleSetup.make()
        for body in ScaleSetup.registrationBodies(agents: agents) { ingestor.ingestNative(body, source: "bench") }
        let batches = randomBatches(agents: agents, batches: 2_000, size: batchSize)
        engine.evaluate()
        ingestor.tick()

        let sections = CollectSections()
        let exposition = StoreExposition(store)
        let cursor = Mutex(FeedCursor(since: 0))
        let pick = Mutex(SplitMix64(seed: 7))
        let activities: [PauseActivity] = [
            PauseActivity(name: "scrape (default sample)") {
                var writer = ExpositionWriter(format: .prometheusText)
                exposition.collect(into: &writer, mustKeep: engine.agentsWithAlerts(), sections: sections)
                engine.collect(into: &writer)
                _ = writer.finishPieces()
            },
            PauseActivity(name: "alert evaluation (default rules)") { engine.evaluate() },
            PauseActivity(name: "upkeep tick") { ingestor.tick() },
            PauseActivity(name: "API + live stream reads") {
                let job = "scale-\(pick.withLock { Int.random(in: 0..<100, using: &$0) })"
                _ = store.jobSummaries()
                _ = store.agentSummaries(job: job)
                _ = store.history(job: job)
                let page = store.jobChanges(after: cursor.withLock { $0 }, limit: 500)
                cursor.withLock { $0 = page.next }
                _ = store.agentChanges(job: job, after: FeedCursor(since: 0), limit: 500)
                _ = store.runningJobSummaries(limit: 100)
            },
            PauseActivity(name: "snapshot capture") { _ = store.snapshot() },
        ]
        var phases: [(name: String, activities: [PauseActivity])] = [("nothing (baseline)", [])]
        phases += activities.map { ($0.name, [$0]) }
        phases.append(("all of the above at once", activities))

        for phase in phases {
            let stop = Stop()
            let applies = Mutex<[UInt64]>([])
            let writerID = Mutex<UInt>(0)
            store.measureLockHolds()
            let writer = onThread {
                writerID.withLock { $0 = ProgressStore.lockHolderID }
                var durations: [UInt64] = []
                durations.reserveCapacity(1 << 20)
                var index = 0
                while !stop.isSet {
                    let start = DispatchTime.now().uptimeNanoseconds
                    ingestor.ingestEvents(batches[index], source: "bench")
                    durations.append(DispatchTime.now().uptimeNanoseconds - start)
                    index = (index + 1) % batches.count
                }
                applies.withLock { $0 = durations }
            }
            let runs = Mutex<[(id: UInt, seconds: Double)]>([])
            let others = phase.activities.map { activity in
                onThread {
                    let id = ProgressStore.lockHolderID
                    while !stop.isSet {
                        let took = seconds { activity.run() }
                        runs.withLock { $0.append((id, took)) }
                        usleep(10_000)
                    }
                }
            }
            Thread.sleep(forTimeInterval: phaseSeconds)
            stop.set()
            writer.wait()
            for other in others { other.wait() }
            let holds = store.stopMeasuringLockHolds()
            let writerHold = holds[writerID.withLock { $0 }] ?? 0
            let durations = applies.withLock { $0 }.sorted()
            let taken = runs.withLock { $0 }
            let times = taken.map(\.seconds).sorted()
            let otherHold = holds.filter { $0.key != writerID.withLock { $0 } }.values.max() ?? 0
            func ms(_ nanos: UInt64) -> String { String(format: "%.2f", Double(nanos) / 1e6) }
            func ms(_ seconds: Double) -> String { String(format: "%.1f", seconds * 1000) }
            let p99 = durations.isEmpty ? 0 : durations[min(durations.count - 1, durations.count * 99 / 100)]
            let runText = times.isEmpty ? "-" : "\(ms(times[times.count / 2])) / \(ms(times.last!))"
            print("| \(agents) | \(phase.name) | \(taken.count) | \(runText) | \(phase.activities.isEmpty ? "-" : String(format: "%.2f", otherHold * 1000)) | \(ms(p99)) | \(ms(durations.last ?? 0)) | \(Int(Double(durations.count) / phaseSeconds)) | \(String(format: "%.2f", writerHold * 1000)) |")
        }
        withExtendedLifetime((store, engine)) {}
    }
}
