// `progress-bench etc`: the ETC's accuracy on synthetic traces with a known true end, beside the
// estimators users have today, all computed from the same events at the same instants. Simulated
// time: the store reads a manual clock, so a 4-hour trace runs in a second.
import Clocks
import Events
import Foundation
import Synchronization
import Tracking

/// The bench's clock, moved by the harness.
final class SimulatedClock: TimeSource {
    private let current: Mutex<Double>
    init(_ start: Double) { current = Mutex(start) }
    func now() -> Double { current.withLock { $0 } }
    func set(_ time: Double) { current.withLock { $0 = time } }
}

/// The three estimators people use today, fed the same delivered events.
struct Baselines {
    let start: Double
    var finished = 0
    var planned = 0
    /// Event times of finished items in the last minute.
    var recent: [Double] = []
    // tqdm's EMA (smoothing 0.3) of items and seconds between updates, with its bias correction.
    var emaItems = 0.0, emaSeconds = 0.0, emaCalls = 0
    var lastFinished = 0, lastTime: Double

    init(start: Double) {
        self.start = start
        lastTime = start
    }

    mutating func observe(_ event: Event) {
        switch event.kind {
        case .jobStarted: planned += Int(event.totalItems ?? 0)
        case .jobItemsAdded: planned += Int(event.count ?? 0)
        case .itemCompleted:
            finished += 1
            recent.append(event.time ?? start)
        default: break
        }
    }

    var remaining: Int { max(0, planned - finished) }

    func naive(at t: Double) -> Double? {
        guard finished > 0 else { return nil }
        return (t - start) / Double(finished) * Double(remaining)
    }

    mutating func window(at t: Double) -> Double? {
        recent.removeAll { $0 <= t - 60 }
        guard !recent.isEmpty else { return nil }
        return Double(remaining) / (Double(recent.count) / min(60, t - start))
    }

    /// Called at every sample instant, as tqdm's display refresh is.
    mutating func ema(at t: Double) -> Double? {
        let alpha = 0.3
        let dn = Double(finished - lastFinished), dt = t - lastTime
        if dn > 0 {
            emaItems = alpha * dn + (1 - alpha) * emaItems
            emaSeconds = alpha * dt + (1 - alpha) * emaSeconds
            emaCalls += 1
            lastFinished = finished
            lastTime = t
        }
        guard emaCalls > 0, emaItems > 0 else { return nil }
        let correction = 1 - pow(1 - alpha, Double(emaCalls))
        let rate = (emaItems / correction) / (emaSeconds / correction)
        return Double(remaining) / rate
    }
}

/// Relative errors of one estimator, by progress decile.
struct ErrorTable {
    var byDecile: [[Double]] = Array(repeating: [], count: 10)
    var missing = 0

    mutating func add(_ estimate: Double?, truth: Double, decile: Int) {
        guard let estimate, estimate > 0 else {
            missing += 1
            byDecile[decile].append(1)
            return
        }
        byDecile[decile].append(abs(estimate - truth) / truth)
    }

    /// Every sample from 10 % progress on.
    var fromTenPercent: [Double] { byDecile[1...].flatMap { $0 } }
}

func quantile(_ values: [Double], _ q: Double) -> Double? {
    guard !values.isEmpty else { return nil }
    let sorted = values.sorted()
    return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * q).rounded()))]
}

func percent(_ value: Double?) -> String {
    guard let value else { return "–" }
    return value >= 10 ? ">999 %" : String(format: "%.1f %%", value * 100)
}

struct TraceResult {
    var name: String
    var summary: String
    var duration: Double
    var ours = ErrorTable(), naive = ErrorTable(), window = ErrorTable(), ema = ErrorTable()
    var bandSamples = 0, bandHits = 0
    /// Band samples and hits by progress decile.
    var bandByDecile = Array(repeating: (samples: 0, hits: 0), count: 10)
    /// Samples whose band had no upper end (the job waits on a stalled item).
    var openUpper = 0
    /// Worst error of ours from the allowance after a change until 90 % progress; nil without a change.
    var afterChange: Double?
    /// The allowance: 15 s or 3 mean item durations after the change, whichever is longer.
    var allowance: Double?
    var zeroWhileRemaining = 0
    /// From the change (or the stuck item's last progress) on: band samples, hits, open upper ends, errors.
    var fromChange = (samples: 0, hits: 0, open: 0, errors: [Double]())
    /// Before it (from 10 % progress on): band samples, hits, errors.
    var beforeChange = (samples: 0, hits: 0, errors: [Double]())
    /// Samples whose predicted finish lay before the sample's instant while items remained.
    var finishInThePast = 0
}

/// Names of the changes some traces make, with when they happen (seconds after the start).
let changeTimes: [String: Double] = ["rate change": 150, "items slow down": 120, "items added": 120, "half leave at 50 %": 90]

func runTrace(_ trace: Trace) -> TraceResult {
    let start = trace.start
    let clock = SimulatedClock(start)
    let store = ProgressStore(options: StoreOptions(), clock: clock)
    let ingestor = Ingestor(store: store, limits: DecoderLimits())
    var baselines = Baselines(start: start)
    var result = TraceResult(name: trace.name, summary: trace.summary, duration: trace.duration)
    let sampleEvery = max(1, (trace.duration / 400).rounded())
    let changeAt = changeTimes[trace.name].map { start + $0 }
    let durations = trace.events.compactMap { $0.event.kind == .itemCompleted ? $0.event.durationSeconds : nil }
    let meanDuration = durations.isEmpty ? 0 : durations.reduce(0, +) / Double(durations.count)
    let allowance = max(15, 3 * meanDuration)
    var worstAfterChange = 0.0

    var next = 0
    var t = start
    var step = 0
    while t < trace.end {
        t += 1
        step += 1
        var batch: [Event] = []
        while next < trace.events.count, trace.events[next].delivered <= t {
            batch.append(trace.events[next].event)
            baselines.observe(trace.events[next].event)
            next += 1
        }
        clock.set(t)
        if !batch.isEmpty { ingestor.ingestEvents(batch, source: "bench") }
        ingestor.tick()
        guard step % Int(sampleEvery) == 0 else { continue }
        let truth = trace.end - t
        guard truth >= 1, baselines.planned > 0 else { continue }
        let decile = min(9, baselines.finished * 10 / baselines.planned)
        let summary = store.jobSummaries().first
        let eta = summary?.etaSeconds
        if eta == 0 && baselines.remaining > 0 { result.zeroWhileRemaining += 1 }
        if let finish = summary?.estimatedCompletion, finish < t, baselines.remaining > 0 { result.finishInThePast += 1 }
        if ProcessInfo.processInfo.environment["ETC_DEBUG"] == trace.name {
            print(String(format: "t=%5.0f done=%5d truth=%7.1f eta=%7.1f [%7.1f, %7.1f] %@", t - start, baselines.finished, truth, eta ?? -1,
                         summary?.etaLowerSeconds ?? -1, summary?.etaUpperSeconds ?? -1, summary?.waitingOn?.map(\.text).joined(separator: "; ") ?? ""))
        }
        result.ours.add(eta, truth: truth, decile: decile)
        result.naive.add(baselines.naive(at: t), truth: truth, decile: decile)
        result.window.add(baselines.window(at: t), truth: truth, decile: decile)
        result.ema.add(baselines.ema(at: t), truth: truth, decile: decile)
        if let low = summary?.etaLowerSeconds, eta != nil, decile >= 1 {
            // No upper end: the band is open above (a stalled item may never end).
            let high = summary?.etaUpperSeconds ?? .infinity
            if high == .infinity { result.openUpper += 1 }
            if let from = trace.stallFrom ?? changeAt, t >= from {
                result.fromChange.samples += 1
                if low <= truth && truth <= high { result.fromChange.hits += 1 }
                if high == .infinity { result.fromChange.open += 1 }
                if let eta { result.fromChange.errors.append(abs(eta - truth) / truth) }
            } else if trace.stallFrom ?? changeAt != nil {
                result.beforeChange.samples += 1
                if low <= truth && truth <= high { result.beforeChange.hits += 1 }
                if let eta { result.beforeChange.errors.append(abs(eta - truth) / truth) }
            }
            result.bandSamples += 1
            result.bandByDecile[decile].samples += 1
            if low <= truth && truth <= high {
                result.bandHits += 1
                result.bandByDecile[decile].hits += 1
            }
        }
        if let changeAt, t >= changeAt + allowance, decile < 9, let eta {
            worstAfterChange = max(worstAfterChange, abs(eta - truth) / truth)
        }
    }
    if changeAt != nil {
        result.afterChange = worstAfterChange
        result.allowance = allowance
    }
    return result
}

/// `progress-bench etc [--log FILE]`: the simulated and recorded traces, or every job of one event log.
func benchETC(arguments: [String]) {
    let traces: [Trace]
    if let flag = arguments.firstIndex(of: "--log") {
        guard flag + 1 < arguments.count else {
            print("usage: progress-bench etc [--log FILE]")
            exit(2)
        }
        do {
            traces = try loggedTraces(path: arguments[flag + 1])
        } catch {
            print("cannot read \(arguments[flag + 1]): \(error)")
            exit(1)
        }
        if traces.isEmpty { print("no job in the log has a planned total and a finished item") }
    } else {
        traces = (etcTraces() + recordedTraces()).map { $0.simulate(start: 1_800_000_000, job: "j") }
    }
    printETC(traces.map(runTrace))
}

func printETC(_ results: [TraceResult]) {
    print("## ETC accuracy: relative error |ETC − truth| / truth from 10 % progress on")
    print("Simulated traces and item durations recorded from real runs, each with a known end; every")
    print("estimator sees the same delivered events at the same instants (about 400 per trace). A missing")
    print("estimate counts as 100 %. naive: elapsed / done × remaining; window: remaining / rate of the last")
    print("minute; EMA: tqdm's smoothing 0.3. Band: how often the 80 % interval held the truth (an open upper")
    print("end holds every later end). After a change: ours' worst error from 15 s or 3 mean item durations")
    print("after it (whichever is longer) until 90 % progress.")
    print("")
    print("| trace | true duration | ours median | ours p90 | naive | window 1m | EMA 0.3 | ours − best baseline | 80 % band holds truth | open upper | after a change (worst) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results {
        let ours = quantile(r.ours.fromTenPercent, 0.5) ?? 1
        let p90 = quantile(r.ours.fromTenPercent, 0.9) ?? 1
        let baselines = [r.naive, r.window, r.ema].map { quantile($0.fromTenPercent, 0.5) ?? 1 }
        let best = baselines.min() ?? 1
        let band = r.bandSamples > 0 ? String(format: "%.0f %%", Double(r.bandHits) / Double(r.bandSamples) * 100) : "–"
        let open = r.bandSamples > 0 ? String(format: "%.0f %%", Double(r.openUpper) / Double(r.bandSamples) * 100) : "–"
        let diff = String(format: "%+.1f pts", (ours - best) * 100)
        let change = r.afterChange.map { "\(percent($0)) (from +\(DurationText.short(r.allowance ?? 0)))" } ?? ""
        print("| \(r.name) | \(DurationText.short(r.duration)) | \(percent(ours)) | \(percent(p90)) | \(percent(baselines[0])) | \(percent(baselines[1])) | \(percent(baselines[2])) | \(diff) | \(band) | \(open) | \(change) |")
    }
    print("")
    print("Before and from the change (or the stuck item's last progress) on, from 10 % progress: nothing can foresee a")
    print("change, so before it every estimate misses, and its band with it.")
    print("")
    print("| trace | before: samples | before: ours median | before: band holds truth | from the change: samples | ours median | 80 % band holds truth | open upper |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results where r.fromChange.samples > 0 {
        let f = r.fromChange, b = r.beforeChange
        let held = b.samples > 0 ? String(format: "%.0f %%", Double(b.hits) / Double(b.samples) * 100) : "–"
        print(String(format: "| %@ | %d | %@ | %@ | %d | %@ | %.0f %% | %.0f %% |", r.name, b.samples, percent(quantile(b.errors, 0.5)), held,
                     f.samples, percent(quantile(f.errors, 0.5)),
                     Double(f.hits) / Double(f.samples) * 100, Double(f.open) / Double(f.samples) * 100))
    }
    print("")
    print("### By progress decile: median / 90th percentile of the relative error")
    for r in results {
        print("")
        print("**\(r.name)**: \(r.summary); true duration \(DurationText.short(r.duration)); estimates missing: ours \(r.ours.missing), naive \(r.naive.missing), window \(r.window.missing), EMA \(r.ema.missing); ours 0 while items remained: \(r.zeroWhileRemaining); predicted finish in the past while items remained: \(r.finishInThePast)")
        print("")
        print("| progress | ours | naive | window 1m | EMA 0.3 | band holds truth |")
        print("|---|---|---|---|---|---|")
        for d in 0..<10 {
            let cells = [r.ours, r.naive, r.window, r.ema].map { table in
                "\(percent(quantile(table.byDecile[d], 0.5))) / \(percent(quantile(table.byDecile[d], 0.9)))"
            }
            let band = r.bandByDecile[d]
            let held = band.samples > 0 ? String(format: "%.0f %%", Double(band.hits) / Double(band.samples) * 100) : "–"
            print("| \(d * 10)-\(d * 10 + 10) % | \(cells.joined(separator: " | ")) | \(held) |")
        }
    }
}
