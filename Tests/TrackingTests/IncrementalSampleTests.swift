import Events
import Exposition
import Testing
@testable import Tracking

/// The scrape that visits only each job's sample candidates and forced agents keeps exactly the
/// agents a pass over every agent keeps, whatever the limits, alerts and expiries.
@Suite struct IncrementalSampleTests {
    let t0 = 1_800_000_000.0

    func kept(_ store: ProgressStore, _ keep: KeptAgents) -> [String] {
        var writer = ExpositionWriter(format: .prometheusText)
        StoreExposition(store).collect(into: &writer, mustKeep: keep)
        return String(decoding: writer.finish(), as: UTF8.self).split(separator: "\n")
            .filter { $0.hasPrefix("progress_agent_last_seen_timestamp_seconds{") }.map(String.init)
    }

    @Test(arguments: [(1, 0), (7, 0), (20, 3), (100, 0), (1000, 5), (0, 2)])
    func keepsWhatAFullPassKeeps(maxSeries: Int, jobLimit: Int) throws {
        var options = StoreOptions()
        options.maxAgentSeries = maxSeries
        options.alwaysKeepAgents = [try IDPattern("j0-a-1[0-2]")]
        if jobLimit > 0 { options.jobMaxAgentSeries = [(try IDPattern("job-1"), jobLimit)] }
        options.agentRetention = 100
        let clock = ManualClock(t0)
        let store = ProgressStore(options: options, clock: clock)
        var events: [Event] = []
        for job in 0..<4 { for agent in 0..<60 { events.append(E.heartbeat("job-\(job)", "j\(job)-a-\(agent)", at: t0 + Double(agent % 3) * 50)) } }
        store.apply(events, source: "test")
        // Alerts on some agents: with small samples some are among the smallest hashes.
        var alerts: [String: Set<String>] = [:]
        for job in 0..<2 { alerts["job-\(job)"] = Set((0..<60).filter { ($0 * 7 + job) % 11 == 0 }.map { "j\(job)-a-\($0)" }) }
        alerts["no-such-job"] = ["x"]
        let frozen = alerts
        let set = KeptAgents(byJob: frozen)
        let test = KeptAgents { job, agent in frozen[job]?.contains(agent) ?? false }
        #expect(kept(store, set) == kept(store, test))
        // New agents register after the candidates were built; some agents expire.
        store.apply((60..<90).map { E.heartbeat("job-\($0 % 4)", "j\($0 % 4)-a-\($0)", at: t0 + 150) }, source: "test")
        #expect(kept(store, set) == kept(store, test))
        clock.set(t0 + 160)
        store.tick()
        #expect(kept(store, set) == kept(store, test))
    }
}
