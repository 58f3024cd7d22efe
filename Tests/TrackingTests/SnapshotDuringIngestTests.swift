import Events
import Exposition
import Testing
@testable import Tracking

/// A snapshot is captured a chunk of agents at a time with ingestion and upkeep going on between
/// the chunks, and is still the state at one sequence number: byte for byte the snapshot of a
/// store that applied exactly the batches up to it.
@Suite struct SnapshotDuringIngestTests {
    let t0 = 1_800_000_000.0

    func setUp(_ store: ProgressStore, _ clock: ManualClock) {
        var events: [Event] = [E.jobStarted("etl", total: 1_000, at: t0), E.jobStarted("old", total: 5, at: t0)]
        for i in 0..<40 {
            events.append(E.started(i % 3 == 0 ? "old" : "etl", "a\(i)", item: "i\(i)", at: t0 + Double(i) / 10))
        }
        for i in stride(from: 0, to: 40, by: 4) {
            events.append(E.completed(i % 3 == 0 ? "old" : "etl", "a\(i)", at: t0 + 5, duration: 4))
        }
        clock.set(t0 + 10)
        store.apply(events, source: "http")
        store.apply([E.progress("etl", "a1", steps: 1, of: 4, at: t0 + 11)], source: "http")
        store.tick()
    }

    @Test func batchesBetweenChunksDoNotReachTheSnapshot() throws {
        let clock = ManualClock(t0)
        let reference = ProgressStore(clock: clock)
        setUp(reference, clock)
        let expected = reference.snapshot()

        let live = ProgressStore(clock: clock)
        setUp(live, clock)
        var round = 0
        let (sequence, bytes) = live.snapshot(chunk: 3) {
            round += 1
            clock.advance(1)
            // Changes agents the capture has taken and ones it has not, twice; registers new agents
            // and a new job; ends a job and lets upkeep forget it and expire agents.
            live.apply([
                E.progress("etl", "a\(round)", steps: 2, of: 4, at: clock.now()),
                E.completed("etl", "a\(40 - round)", at: clock.now(), duration: 2),
                E.failed("old", "a\(round * 3 % 40)", item: "x\(round)", retryable: false, at: clock.now()),
                E.started("etl", "new\(round)", item: "n\(round)", at: clock.now()),
                E.started("late-\(round)", "b", at: clock.now()),
                E.progress("etl", "a\(round)", steps: 3, of: 4, at: clock.now()),
            ], source: "http")
            if round == 4 {
                live.apply([E.ended("old", .jobCompleted, at: clock.now())], source: "http")
                clock.advance(100_000)
                live.tick()
            }
        }
        #expect(round > 10, "the capture took many chunks")
        #expect(sequence == expected.sequence)
        // Set iteration order differs from store to store, so the bytes are compared restored.
        let captured = ProgressStore(clock: clock), wanted = ProgressStore(clock: clock)
        try captured.restore(from: bytes)
        try wanted.restore(from: expected.bytes)
        #expect(bytes.count == expected.bytes.count)
        expectSameState(captured, wanted)
        #expect(live.sequence > sequence)

        // Agents were preserved for that capture only: the next one sees the current state.
        let after = live.snapshot()
        let copy = ProgressStore(clock: clock)
        try copy.restore(from: after.bytes)
        expectSameState(copy, live)
    }

    func exposition(_ store: ProgressStore) -> String {
        var writer = ExpositionWriter(format: .prometheusText)
        StoreExposition(store).collect(into: &writer)
        return String(decoding: writer.finish(), as: UTF8.self)
    }

    /// The same jobs, agents, series (every counter, window and sampled agent) and positions.
    func expectSameState(_ a: ProgressStore, _ b: ProgressStore) {
        #expect(a.sequence == b.sequence)
        #expect(a.jobSummaries() == b.jobSummaries(), "the state at the capture's sequence number, whatever came after")
        for job in b.jobSummaries() {
            #expect(a.agentSummaries(job: job.job) == b.agentSummaries(job: job.job))
            #expect(a.history(job: job.job) == b.history(job: job.job))
        }
        #expect(exposition(a) == exposition(b), "every series, counters and windows included")
        #expect(a.sourcePositions().positions == b.sourcePositions().positions)
    }
}
