// Traces from real runs for `progress-bench etc`: the item durations of workloads recorded on a
// real machine (Benchmarks/etc/traces, written by Benchmarks/etc/record_traces.py), replayed by
// the same simulation as the synthetic traces, and any recorded event log (`etc --log FILE`).
import Events
import Foundation

/// The folder of recorded traces, found from this source file so the bench runs from anywhere.
let recordedTraceFolder = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("etc/traces")

/// A recorded trace: `# agents: N` and other comment lines, then one item duration (seconds) a line.
/// The durations are scaled so the job lasts about 10 minutes, or longer for many items (a quarter
/// of a second an item an agent: the simulation takes at least 0.05 s an item, and the harness
/// samples once a second); their order and ratios are as recorded.
func recordedTraces(in folder: URL = recordedTraceFolder) -> [TraceShape] {
    let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? [])
        .filter { $0.hasSuffix(".txt") }.sorted()
    var shapes: [TraceShape] = []
    for name in names {
        guard let text = try? String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8) else { continue }
        var agents = 1
        var summary = ""
        var durations: [Double] = []
        for line in text.split(separator: "\n") {
            if line.hasPrefix("#") {
                let comment = line.dropFirst().trimmingCharacters(in: .whitespaces)
                if comment.hasPrefix("agents:"), let n = Int(comment.dropFirst(7).trimmingCharacters(in: .whitespaces)), n > 0 {
                    agents = min(n, 1_000)
                } else if summary.isEmpty {
                    summary = comment
                }
            } else if let d = Double(line.trimmingCharacters(in: .whitespaces)), d.isFinite, d >= 0 {
                durations.append(d)
            }
        }
        let total = durations.reduce(0, +)
        guard durations.count >= 10, total > 0 else { continue }
        let scale = max(600, 0.25 * Double(durations.count) / Double(agents)) * Double(agents) / total
        let scaled = durations.map { $0 * scale }
        shapes.append(TraceShape(
            name: "real: " + name.dropLast(4), summary: summary + String(format: "; durations × %.3g", scale),
            agents: agents, items: scaled.count, duration: { _, _, _, item in scaled[min(item, scaled.count - 1)] }))
    }
    return shapes
}

/// Every job of a recorded event log (native NDJSON), each as a trace delivered at its event
/// times, with the time of its last finished item as the truth. Jobs with no planned total or no
/// finished item are left out (nothing to score).
func loggedTraces(path: String) throws -> [Trace] {
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    let decoder = NativeEventDecoder()
    var byJob: [String: [Event]] = [:]
    var order: [String] = []
    var rejected = 0
    for line in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true) {
        guard case .success(let event) = decoder.decode(line: Array(line)), event.time != nil else {
            rejected += 1
            continue
        }
        if byJob[event.job] == nil { order.append(event.job) }
        byJob[event.job, default: []].append(event)
    }
    if rejected > 0 { print("\(path): \(rejected) lines without a decodable timed event were left out") }
    var traces: [Trace] = []
    for job in order {
        let events = byJob[job]!.sorted { ($0.time ?? 0) < ($1.time ?? 0) }
        let finishing = events.filter { $0.kind == .itemCompleted || $0.kind == .itemDeadLettered || ($0.kind == .itemFailed && $0.retryable == false) }
        guard let start = events.first?.time, let end = finishing.last?.time,
              events.contains(where: { $0.totalItems != nil || $0.kind == .jobItemsAdded }) else { continue }
        traces.append(Trace(
            name: "log: \(job)", summary: "\(events.count) events of \(path)", start: start,
            events: events.map { TimedEvent(event: $0, time: $0.time!, delivered: $0.time!) }, end: end))
    }
    return traces
}
