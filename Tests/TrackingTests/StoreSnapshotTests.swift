import Events
import Exposition
import Testing
@testable import Tracking

/// The store's state round-trips through its snapshot encoding, whole or not at all.
@Suite struct StoreSnapshotTests {
    let t0 = 1_800_000_000.0

    func populated(_ clock: ManualClock) -> ProgressStore {
        let store = ProgressStore(clock: clock)
        var events: [Event] = [E.jobStarted("etl", total: 100, at: t0, deadline: t0 + 3600), E.itemsAdded("etl", 5, at: t0 + 1)]
        for i in 0..<40 {
            let agent = "a\(i % 7)"
            events.append(E.started("etl", agent, item: "i\(i)", at: t0 + Double(i)))
            if i % 5 == 4 {
                events.append(E.failed("etl", agent, item: "i\(i)", retryable: i % 10 == 9, at: t0 + Double(i) + 3))
            } else {
                events.append(E.completed("etl", agent, item: "i\(i)", at: t0 + Double(i) + 3, duration: 3))
            }
        }
        events.append(E.progress("etl", "a3", steps: 1, of: 4, at: t0 + 45))
        events.append(E.state("gen", "q", .queued, at: t0 + 2))
        events.append(E.ended("old", .jobCompleted, at: t0 + 5))
        var withID = E.heartbeat("etl", "a1", at: t0 + 46)
        withID.id = "evt-7"
        events.append(withID)
        clock.set(t0 + 50)
        store.apply(events, source: "http", rejected: ["invalid_json": 2], ignored: ["checkpoint": 3],
                    position: SourcePosition(source: "file", path: "/x.jsonl", device: 3, inode: 9, offset: 1234, fingerprintLength: 40, fingerprintHash: 77))
        store.apply([E.heartbeat("etl", "a2", at: t0 + 48)], source: "sse",
                    position: .stream(source: "sse", url: "http://tracker:8080/events", eventID: "evt-1041"))
        return store
    }

    func exposition(_ store: ProgressStore) -> String {
        var writer = ExpositionWriter(format: .prometheusText)
        StoreExposition(store).collect(into: &writer)
        return String(decoding: writer.finish(), as: UTF8.self)
    }

    @Test func everythingRoundTrips() throws {
        let clock = ManualClock(t0)
        let original = populated(clock)
        for second in stride(from: 50.0, through: 200, by: 10) {
            clock.set(t0 + second)
            original.tick()
        }
        #expect((original.history(job: "etl")?.points.count ?? 0) > 5)
        let (sequence, bytes) = original.snapshot()
        let copy = ProgressStore(clock: clock)
        try copy.restore(from: bytes)
        #expect(copy.sequence == sequence)
        #expect(copy.jobSummaries() == original.jobSummaries())
        for job in original.jobSummaries() {
            #expect(copy.agentSummaries(job: job.job) == original.agentSummaries(job: job.job))
        }
        #expect(exposition(copy) == exposition(original), "every series, counters and windows included")
        #expect(copy.sourcePositions().positions == original.sourcePositions().positions)
        #expect(copy.sourcePositions().positions.contains { $0.isStream && $0.eventID == "evt-1041" }, "an event stream resumes from its last id")
        #expect(copy.history(job: "etl") == original.history(job: "etl"), "the burn-down history survives a restart")
        // The de-duplication ids came along: the same id is still a duplicate.
        var again = E.heartbeat("etl", "a1", at: t0 + 47)
        again.id = "evt-7"
        copy.apply([again], source: "http")
        original.apply([again], source: "http")
        #expect(exposition(copy) == exposition(original))
        // And both go on the same way, rolling windows included.
        clock.set(t0 + 400)
        let more = [E.completed("etl", "a2", item: "late", at: t0 + 399)]
        copy.apply(more, source: "http")
        original.apply(more, source: "http")
        #expect(copy.jobSummaries() == original.jobSummaries())
        #expect(copy.jobChanges(after: FeedCursor(since: sequence), limit: .max).items.map(\.job) == ["etl"])
    }

    @Test(arguments: [0, 1, 7, 100, 1000])
    func aDamagedSnapshotIsRefusedAndChangesNothing(cut: Int) throws {
        let clock = ManualClock(t0)
        let (_, bytes) = populated(clock).snapshot()
        let target = ProgressStore(clock: clock)
        target.apply([E.jobStarted("keep", total: 3, at: t0)], source: "http")
        let before = target.jobSummaries()
        // Truncated, and with one byte changed in the middle of a length.
        #expect(throws: BinaryReadError.self) { try target.restore(from: Array(bytes.prefix(max(0, bytes.count - 1 - cut)))) }
        var flipped = bytes
        flipped[min(flipped.count - 1, 4 + cut)] ^= 0xFF
        _ = try? target.restore(from: flipped)   // may decode to something else, but never traps
        let tampered = ProgressStore(clock: clock)
        tampered.apply([E.jobStarted("keep", total: 3, at: t0)], source: "http")
        #expect(throws: BinaryReadError.self) { try tampered.restore(from: [9, 0, 0, 0] + bytes.dropFirst(4)) }
        #expect(tampered.jobSummaries() == before, "a refused snapshot leaves the state as it was")
    }

    @Test func hostileLengthsDoNotAllocateWithoutBound() {
        let store = ProgressStore(clock: ManualClock(t0))
        // Version 1, sequence 0, then a position count of 4 billion in a 20-byte input.
        var w = BinaryWriter()
        w.u32(ProgressStore.snapshotEncodingVersion)
        w.u64(0)
        w.u32(.max)
        #expect(throws: BinaryReadError.self) { try store.restore(from: w.bytes) }
    }
}
