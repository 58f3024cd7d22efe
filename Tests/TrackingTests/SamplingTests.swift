import Events
import Exposition
import Testing
@testable import Tracking

@Suite struct SamplingTests {
    let t0 = 1_800_000_000.0

    func exportedAgents(_ configure: (inout StoreOptions) -> Void, mustKeep: @escaping @Sendable (String, String) -> Bool = { _, _ in false }) throws -> (agents: [String], text: String) {
        var options = StoreOptions()
        configure(&options)
        let store = ProgressStore(options: options, clock: ManualClock(t0))
        var events: [Event] = []
        for job in ["etl", "bulk"] { for i in 0..<50 { events.append(E.heartbeat(job, "\(job)-agent-\(i)", at: t0)) } }
        store.apply(events, source: "test")
        var writer = ExpositionWriter(format: .prometheusText)
        StoreExposition(store).collect(into: &writer, mustKeep: KeptAgents(mustKeep))
        let text = String(decoding: writer.finish(), as: UTF8.self)
        let agents = text.split(separator: "\n").filter { $0.hasPrefix("progress_agent_last_seen_timestamp_seconds{") }.map { line in
            String(line.split(separator: "agent=\"")[1].split(separator: "\"")[0])
        }
        return (agents, text)
    }

    @Test func allowListedAgentsAreAlwaysKept() throws {
        let (agents, text) = try exportedAgents { options in
            options.maxAgentSeries = 5
            options.alwaysKeepAgents = [try! IDPattern("etl-agent-4[0-9]")]
        }
        #expect(agents.filter { $0.hasPrefix("etl-agent-4") }.count == 10)
        #expect(agents.count == 10, "the allow-list goes beyond the limit; nothing else fits")
        #expect(text.contains("progress_exporter_agent_series{series=\"dropped\"} 90"))
    }

    @Test func aJobsOwnLimitCapsItsAgentsWithinTheGlobalOne() throws {
        let (agents, _) = try exportedAgents { options in
            options.maxAgentSeries = 30
            options.jobMaxAgentSeries = [(try! IDPattern("bulk"), 3)]
        }
        #expect(agents.filter { $0.hasPrefix("bulk-") }.count == 3)
        #expect(agents.count == 30)
        let (again, _) = try exportedAgents { options in
            options.maxAgentSeries = 30
            options.jobMaxAgentSeries = [(try! IDPattern("bulk"), 3)]
        }
        #expect(agents == again, "the same agents from scrape to scrape")
    }

    @Test func aLimitOfZeroExportsOnlyForcedAgents() throws {
        let (agents, _) = try exportedAgents({ $0.maxAgentSeries = 0 }, mustKeep: { $1 == "etl-agent-7" })
        #expect(agents == ["etl-agent-7"])
    }

    /// The /metrics endpoint hands the same section buffers to every scrape: nothing of a bigger
    /// earlier scrape may show in a smaller later one.
    @Test func reusedSectionsRenderExactlyWhatFreshOnesDo() {
        let clock = ManualClock(t0)
        var options = StoreOptions()
        options.agentRetention = 60
        let store = ProgressStore(options: options, clock: clock)
        store.apply((0..<40).map { E.heartbeat("etl", "agent-\($0)", at: t0) }, source: "test")
        let sections = CollectSections()
        let exposition = StoreExposition(store)
        func render(_ sections: CollectSections) -> [UInt8] {
            var writer = ExpositionWriter(format: .openMetrics)
            exposition.collect(into: &writer, sections: sections)
            return writer.finish()
        }
        clock.set(t0 + 100)
        store.apply([E.heartbeat("etl", "agent-late", at: t0 + 100)], source: "test")
        let big = render(sections)
        clock.set(t0 + 120)
        store.tick()
        let reused = render(sections)
        func agentLines(_ bytes: [UInt8]) -> Int {
            String(decoding: bytes, as: UTF8.self).split(separator: "\n")
                .filter { $0.hasPrefix("progress_agent_last_seen_timestamp_seconds{") }.count
        }
        #expect(agentLines(big) == 41)
        #expect(agentLines(reused) == 1, "40 agents expired")
        #expect(reused == render(CollectSections()))
    }
}
