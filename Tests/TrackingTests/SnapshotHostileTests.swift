import Events
import Exposition
import Foundation
import Testing
@testable import Tracking

/// Snapshots the exporter could never have written, found by fuzzing `restore(from:)`.
@Suite struct SnapshotHostileTests {
    static let time = 1_800_000_000.0

    /// A store whose every time is `time`: a job with a deadline and an agent halfway through an item.
    static func store() -> ProgressStore {
        let store = ProgressStore(clock: ManualClock(time))
        var halfway = Event(kind: .agentProgress, job: "j", agent: "a", time: time)
        halfway.progress = 0.5
        store.apply([
            E.jobStarted("j", total: 10, at: time, deadline: time),
            E.started("j", "a", item: "i", at: time),
            halfway,
        ], source: "test")
        return store
    }

    /// `bytes` with the 8 bytes of `old` replaced by those of `new`: every occurrence, or only the `only`th.
    static func replacing(_ old: Double, with new: Double, in bytes: [UInt8], only: Int? = nil) -> [UInt8] {
        let pattern = withUnsafeBytes(of: old.bitPattern.littleEndian, Array.init)
        let replacement = withUnsafeBytes(of: new.bitPattern.littleEndian, Array.init)
        var out = bytes
        var seen = 0
        var i = 0
        while i + 8 <= out.count {
            if Array(out[i..<i + 8]) == pattern {
                if only == nil || only == seen { out.replaceSubrange(i..<i + 8, with: replacement) }
                seen += 1
                i += 8
            } else {
                i += 1
            }
        }
        return out
    }

    /// A NaN or infinite time used to restore, and then every /api/v1/jobs answer was a 500
    /// (JSONEncoder cannot write NaN). Each time field alone must be refused, the store left as it was.
    @Test(arguments: [Double.nan, .infinity, -.infinity])
    func nonFiniteTimesAreRefused(_ bad: Double) throws {
        let bytes = Self.store().snapshot().bytes
        let occurrences = (0..<bytes.count - 7).filter {
            Array(bytes[$0..<$0 + 8]) == withUnsafeBytes(of: Self.time.bitPattern.littleEndian, Array.init)
        }.count
        #expect(occurrences >= 8)
        for index in 0..<occurrences {
            let target = ProgressStore(clock: ManualClock(Self.time))
            let damaged = Self.replacing(Self.time, with: bad, in: bytes, only: index)
            #expect(throws: BinaryReadError.self, "time #\(index) set to \(bad)") { try target.restore(from: damaged) }
            #expect(target.jobSummaries().isEmpty)
        }
    }

    @Test func aNaNProgressRatioIsRefused() throws {
        let bytes = Self.store().snapshot().bytes
        let damaged = Self.replacing(0.5, with: .nan, in: bytes)
        #expect(damaged != bytes)
        #expect(throws: BinaryReadError.self) { try ProgressStore(clock: ManualClock()).restore(from: damaged) }
    }

    /// An infinite duration sum is what the store holds after two durations near Double.greatestFiniteMagnitude:
    /// such a snapshot still restores.
    @Test func anInfiniteDurationSumStillRestores() throws {
        let store = ProgressStore(clock: ManualClock(Self.time))
        store.apply([
            E.completed("j", "a", item: "1", duration: .greatestFiniteMagnitude),
            E.completed("j", "a", item: "2", duration: .greatestFiniteMagnitude),
        ], source: "test")
        let copy = ProgressStore(clock: ManualClock(Self.time))
        try copy.restore(from: store.snapshot().bytes)
        #expect(copy.jobSummaries() == store.jobSummaries())
        _ = try JSONEncoder().encode(copy.jobSummaries())
    }
}

/// Found by fuzz-snapshot (Fuzz/corpus/snapshot/histogram-overflow): duration-histogram counts
/// whose sum overflows UInt64 restored, and the next scrape trapped writing the cumulative buckets.
@Suite struct SnapshotHistogramTests {
    @Test func countsThatOverflowWhenSummedAreRefused() throws {
        let store = ProgressStore(clock: ManualClock())
        store.apply([E.completed("j", "a", item: "1", duration: 0.01), E.completed("j", "a", item: "2", duration: 1e9)], source: "test")
        let bytes = store.snapshot().bytes
        // The histogram is written as a u32 count, then that many u64 counts; two of them hold 1.
        let buckets = UInt32(JobRecord.durationBounds.values.count + 1)
        let header = withUnsafeBytes(of: buckets.littleEndian, Array.init)
        func holdsTwoOnes(_ i: Int) -> Bool {
            guard Array(bytes[i..<i + 4]) == header, i + 4 + 8 * Int(buckets) <= bytes.count else { return false }
            var ones = 0
            for b in 0..<Int(buckets) { ones += Int(bytes[i + 4 + 8 * b]) }
            return ones == 2
        }
        let start = try #require((0..<bytes.count - 4).first(where: holdsTwoOnes)) + 4
        var damaged = bytes
        for b in 0..<Int(buckets) where damaged[start + 8 * b] == 1 {
            damaged.replaceSubrange(start + 8 * b..<start + 8 * b + 8, with: withUnsafeBytes(of: UInt64.max.littleEndian, Array.init))
        }
        #expect(damaged != bytes)
        let target = ProgressStore(clock: ManualClock())
        #expect(throws: BinaryReadError.self) { try target.restore(from: damaged) }
        var writer = ExpositionWriter(format: .prometheusText)
        StoreExposition(target).collect(into: &writer)
        #expect(target.jobSummaries().isEmpty)
    }

    @Test func theFuzzersInputIsRefused() throws {
        let bytes = try FuzzCorpusTests.bytes("snapshot", "histogram-overflow")
        #expect(throws: BinaryReadError.self) { try ProgressStore(clock: ManualClock()).restore(from: bytes) }
    }
}
