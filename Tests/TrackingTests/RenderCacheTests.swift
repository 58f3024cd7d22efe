import Events
import Exposition
import Testing
@testable import Tracking

/// A scrape keeps each job's time-independent lines and sends them again while the job has not
/// changed. These tests hold that cache to one rule: a store that has been scraped many times
/// renders exactly what a store with the same events and clock renders on its first scrape.
@Suite struct RenderCacheTests {
    let t0 = 1_800_000_000.0

    /// Two stores fed the same events at the same times; `warm` is scraped after every step,
    /// `cold` is rendered fresh (a new store replaying all steps) only when compared.
    struct Pair {
        let options: StoreOptions
        let clock: ManualClock
        let warm: ProgressStore
        /// `warm`'s renderer, kept across scrapes with its cache.
        let warmExposition: StoreExposition
        var steps: [(time: Double, events: [Event], tick: Bool)] = []

        init(options: StoreOptions, t0: Double) {
            self.options = options
            clock = ManualClock(t0)
            warm = ProgressStore(options: options, clock: clock)
            warmExposition = StoreExposition(warm)
        }

        mutating func step(at time: Double, _ events: [Event], tick: Bool = false) {
            steps.append((time, events, tick))
            clock.set(time)
            if !events.isEmpty { warm.apply(events, source: "test") }
            if tick { warm.tick() }
        }

        func render(_ exposition: StoreExposition, keep: KeptAgents, format: ExpositionFormat = .prometheusText) -> String {
            var writer = ExpositionWriter(format: format)
            exposition.collect(into: &writer, mustKeep: keep)
            return String(decoding: writer.finish(), as: UTF8.self)
        }

        /// A new store that saw the same steps and was never scraped.
        func cold() -> ProgressStore {
            let clock = ManualClock(steps.first?.time ?? 0)
            let store = ProgressStore(options: options, clock: clock)
            for step in steps {
                clock.set(step.time)
                if !step.events.isEmpty { store.apply(step.events, source: "test") }
                if step.tick { store.tick() }
            }
            clock.set(self.clock.now())
            return store
        }
    }

    @Test func aScrapedStoreRendersWhatAFreshOneDoes() {
        var options = StoreOptions()
        options.agentRetention = 120
        options.maxAgentSeries = 12
        // None of wide's agents is kept: its agents expiring changes only its job lines.
        options.jobMaxAgentSeries = [(try! IDPattern("wide"), 0)]
        var pair = Pair(options: options, t0: t0)
        var keep = KeptAgents.none
        var events: [Event] = [E.jobStarted("etl", total: 100, at: t0), E.jobStarted("bulk", total: 50, at: t0)]
        for i in 0..<10 { events.append(E.started("etl", "etl-\(i)", item: "i\(i)", at: t0)) }
        for i in 0..<10 { events.append(E.started("bulk", "bulk-\(i)", item: "b\(i)", at: t0)) }
        for i in 0..<6 { events.append(E.heartbeat("wide", "wide-\(i)", at: t0)) }
        pair.step(at: t0, events)
        var scrapes = 0
        func compare(_ what: Comment) {
            let warm = pair.render(pair.warmExposition, keep: keep)
            scrapes += 1
            #expect(warm == pair.render(StoreExposition(pair.cold()), keep: keep), what)
        }
        compare("first scrape")
        // Only time passes: rates and ETCs move, the cached lines stay.
        pair.step(at: t0 + 30, [])
        compare("time passed, no events")
        // One job changes, the other does not.
        pair.step(at: t0 + 40, [E.completed("etl", "etl-3", item: "i3", at: t0 + 40, duration: 40), E.progress("etl", "etl-4", steps: 1, of: 4, at: t0 + 40)])
        compare("one job changed")
        // An alert forces an agent into the sample: the kept set changes, the job does not.
        keep = KeptAgents(byJob: ["bulk": ["bulk-9"], "etl": ["etl-0", "etl-1", "etl-2", "etl-3", "etl-4", "etl-5", "etl-6", "etl-7"]])
        compare("the kept agents changed")
        // The same kept set (one value, as the alert engine hands out until alerts change) while a
        // job changes: what was forced for it is chosen again.
        pair.step(at: t0 + 45, [E.started("bulk", "bulk-new", item: "b-new", at: t0 + 45)])
        compare("a job changed under the same kept agents")
        keep = .none
        compare("and changed back")
        // Agents of one job go silent and expire on a tick: the job changes without an event.
        var late: [Event] = []
        for i in 0..<10 { late.append(E.heartbeat("etl", "etl-\(i)", at: t0 + 150)) }
        for i in 0..<3 { late.append(E.heartbeat("wide", "wide-\(i)", at: t0 + 150)) }
        pair.step(at: t0 + 150, late)
        compare("heartbeats")
        pair.step(at: t0 + 170, [], tick: true)
        compare("bulk's agents and half of wide's expired")
        pair.step(at: t0 + 171, [E.state("etl", "etl-1", .failed, at: t0 + 171)])
        compare("a state changed")
        #expect(scrapes == 9)
    }

    @Test func anUnchangedJobIsNotRenderedAgain() {
        let clock = ManualClock(t0)
        let store = ProgressStore(clock: clock)
        store.apply([E.started("etl", "a", item: "x", at: t0), E.started("bulk", "b", item: "y", at: t0)], source: "test")
        let exposition = StoreExposition(store)
        func render() -> [UInt8] {
            var writer = ExpositionWriter(format: .openMetrics)
            exposition.collect(into: &writer)
            return writer.finish()
        }
        _ = render()
        let before = ["etl", "bulk"].map { ObjectIdentifier(exposition.cachedLines(job: $0)!) }
        clock.set(t0 + 5)
        store.apply([E.completed("etl", "a", item: "x", at: t0 + 5, duration: 5)], source: "test")
        _ = render()
        let after = ["etl", "bulk"].map { ObjectIdentifier(exposition.cachedLines(job: $0)!) }
        #expect(before[1] == after[1], "bulk did not change: its lines are reused")
        #expect(before[0] != after[0], "etl changed: rendered again")
    }

    /// A restore replaces every record: a job of the same name and the same change number in the
    /// restored state is another job, and its cached lines must not be sent for it.
    @Test func aRestoreInvalidatesTheKeptLines() throws {
        let clock = ManualClock(t0)
        // No agent series: the kept agents (new objects after a restore) cannot tell the jobs apart.
        var options = StoreOptions()
        options.maxAgentSeries = 0
        let scraped = ProgressStore(options: options, clock: clock)
        scraped.apply([E.completed("etl", "a", item: "x", at: t0, duration: 1)], source: "test")
        let other = ProgressStore(options: options, clock: clock)
        other.apply([E.completed("etl", "a", item: "x", at: t0, duration: 1), E.completed("etl", "a", item: "y", at: t0, duration: 1)], source: "test")
        let exposition = StoreExposition(scraped)
        func render(_ exposition: StoreExposition) -> String {
            var writer = ExpositionWriter(format: .prometheusText)
            exposition.collect(into: &writer)
            return String(decoding: writer.finish(), as: UTF8.self)
        }
        _ = render(exposition)
        #expect(scraped.sequence == other.sequence, "the same change number on both sides")
        try scraped.restore(from: other.snapshot().bytes)
        #expect(render(exposition) == render(StoreExposition(other)))
    }
}
