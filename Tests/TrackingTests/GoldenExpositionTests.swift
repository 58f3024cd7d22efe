import Events
import Exposition
import Foundation
import Testing
@testable import Tracking

/// The whole /metrics output of the store for a fixed event script, compared with a file in Golden/.
/// Run with UPDATE_GOLDEN=1 to rewrite the files after an intended change, then review the diff.
@Suite struct GoldenExpositionTests {
    static let t0 = 1_800_000_000.0

    static func scriptedStore() -> ProgressStore {
        let clock = ManualClock(t0)
        let store = ProgressStore(clock: clock)
        var events: [Event] = [
            E.jobStarted("etl-nightly", total: 6, at: t0, deadline: t0 + 3600),
            E.started("etl-nightly", "agent-1", item: "a", at: t0 + 1),
            E.progress("etl-nightly", "agent-1", steps: 2, of: 4, at: t0 + 5),
            E.completed("etl-nightly", "agent-1", item: "a", at: t0 + 10),
            E.started("etl-nightly", "agent-2", item: "b", at: t0 + 1),
            E.failed("etl-nightly", "agent-2", item: "b", retryable: true, at: t0 + 4),
            E.retrying("etl-nightly", "agent-2", at: t0 + 5),
            E.completed("etl-nightly", "agent-2", item: "b", at: t0 + 20, duration: 15),
            E.state("etl-nightly", "agent-3", .queued, at: t0 + 2),
            E.deadLettered("etl-nightly", item: "c", at: t0 + 25),
            E.heartbeat("review \"batch\"\\7\nx", "agent-ß", at: t0 + 3),
            E.jobStarted("gen-queue", at: t0),
            E.itemsAdded("gen-queue", 4, at: t0 + 2),
            E.ended("gen-queue", .jobCancelled, at: t0 + 30),
        ]
        events.append(E.completed("etl-nightly", "agent-1", item: "d", at: t0 + 40))
        // An item in flight, so the agent progress and ETA families have a sample.
        events.append(E.started("etl-nightly", "agent-4", item: "e", at: t0 + 50))
        events.append(E.progress("etl-nightly", "agent-4", steps: 1, of: 4, at: t0 + 55))
        clock.set(t0 + 60)
        store.apply(events, source: "http", rejected: ["invalid_json": 2])
        return store
    }

    static func render(_ format: ExpositionFormat) -> String {
        var writer = ExpositionWriter(format: format)
        StoreExposition(scriptedStore()).collect(into: &writer)
        return String(decoding: writer.finish(), as: UTF8.self)
    }

    static func goldenURL(_ name: String) -> URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden/\(name)")
    }

    @Test(arguments: [("store.prom", ExpositionFormat.prometheusText), ("store.openmetrics", .openMetrics)])
    func matchesGoldenFile(name: String, format: ExpositionFormat) throws {
        let output = Self.render(format)
        let url = Self.goldenURL(name)
        if ProcessInfo.processInfo.environment["UPDATE_GOLDEN"] == "1" {
            try output.write(to: url, atomically: true, encoding: .utf8)
        }
        let golden = try String(contentsOf: url, encoding: .utf8)
        #expect(output == golden, "run UPDATE_GOLDEN=1 swift test --filter GoldenExpositionTests and review the diff")
    }

    @Test(arguments: [ExpositionFormat.prometheusText, .openMetrics])
    func everySeriesAppearsOnceAndEveryFamilyOnce(format: ExpositionFormat) {
        let lines = Self.render(format).split(separator: "\n")
        let series = lines.filter { !$0.hasPrefix("#") }.map { $0[..<$0.lastIndex(of: " ")!] }
        #expect(Set(series).count == series.count)
        let types = lines.filter { $0.hasPrefix("# TYPE ") }
        #expect(Set(types).count == types.count)
    }

    @Test func renderingTwiceGivesTheSameBytes() {
        let exposition = StoreExposition(Self.scriptedStore())
        var first = ExpositionWriter(format: .prometheusText)
        exposition.collect(into: &first)
        var second = ExpositionWriter(format: .prometheusText)
        exposition.collect(into: &second)
        let firstBytes = first.finish()
        let secondBytes = second.finish()
        #expect(firstBytes == secondBytes)
    }

    @Test func promtoolFindsNothingToComplainAbout() throws {
        let promtool = try #require(
            ["/usr/bin/promtool", "/usr/local/bin/promtool"].first { FileManager.default.isExecutableFile(atPath: $0) },
            "promtool is missing: run scripts/install-deps.sh")
        // promtool lints the text format only; it reads OpenMetrics counter families as missing help.
        for format in [ExpositionFormat.prometheusText] {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: promtool)
            process.arguments = ["check", "metrics"]
            let input = Pipe()
            let output = Pipe()
            process.standardInput = input
            process.standardOutput = output
            process.standardError = output
            try process.run()
            input.fileHandleForWriting.write(Data(Self.render(format).utf8))
            try input.fileHandleForWriting.close()
            let report = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            #expect(process.terminationStatus == 0, "\(format): \(report)")
            #expect(report.isEmpty, "\(format): \(report)")
        }
    }

    @Test func samplingKeepsTheSameAgentsAndSaysHowManyItDropped() {
        let clock = ManualClock(Self.t0)
        var options = StoreOptions()
        options.maxAgentSeries = 10
        let store = ProgressStore(options: options, clock: clock)
        store.apply((0..<100).map { E.heartbeat("j\($0 % 3)", "agent-\($0)", at: Self.t0) }, source: "test")
        func agentsExported(mustKeep: @escaping @Sendable (String, String) -> Bool = { _, _ in false }) -> (Set<String>, String) {
            var writer = ExpositionWriter(format: .prometheusText)
            StoreExposition(store).collect(into: &writer, mustKeep: KeptAgents(mustKeep))
            let text = String(decoding: writer.finish(), as: UTF8.self)
            let agents = text.split(separator: "\n").filter { $0.hasPrefix("progress_agent_last_seen_timestamp_seconds{") }
            return (Set(agents.map(String.init)), text)
        }
        let (first, text) = agentsExported()
        #expect(first.count == 10)
        #expect(text.contains("progress_exporter_agent_series{series=\"kept\"} 10\n"))
        #expect(text.contains("progress_exporter_agent_series{series=\"dropped\"} 90\n"))
        #expect(text.contains("progress_job_agents{job_name=\"j0\",state=\"running\"} 34\n"), "aggregates count every agent")
        let (second, _) = agentsExported()
        #expect(first == second)
        let (withForced, _) = agentsExported { $1 == "agent-77" }
        #expect(withForced.count == 10)
        #expect(withForced.contains { $0.contains("agent=\"agent-77\"") })
    }
}
