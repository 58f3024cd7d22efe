import Testing
@testable import Tracking

@Suite struct ItemHashSetTests {
    @Test func countsEachHashOnceAcrossShards() {
        var set = ItemHashSet()
        var generator = SplitMix64(seed: 3)
        let hashes = (0..<5_000).map { _ in generator.next() }
        for hash in hashes {
            let inserted = set.insert(hash)
            #expect(inserted)
        }
        for hash in hashes.prefix(100) {
            let again = set.insert(hash)
            #expect(!again, "a second finish of the same item")
        }
        #expect(set.count == 5_000)
        #expect(Set(set.all) == Set(hashes))
        #expect(ItemHashSet(set.all) == set)
        #expect(set.contains(hashes[42]) && !set.contains(0))
    }

    /// A capture's copy keeps what it saw while the live set goes on.
    @Test func aCopyDoesNotSeeLaterInserts() {
        var live = ItemHashSet((1...1_000).map { UInt64($0) << 50 })
        let captured = live
        _ = live.insert(UInt64.max)
        #expect(captured.count == 1_000)
        #expect(!captured.contains(UInt64.max))
        #expect(live.count == 1_001)
    }
}

/// The de-duplication window is bounded by bytes, not only by count (issue 22, item 7).
@Suite struct DedupWindowBytesTests {
    @Test func longIdsAreForgottenOldestFirstOnceTheBytesAreSpent() {
        var window = DedupWindow()
        let byteCapacity = 100 * (1024 + DedupWindow.overhead)
        for index in 0..<1000 {
            let id = String(repeating: "x", count: 1020) + String(format: "%04d", index)
            let inserted = window.insert(id, at: 0, window: 600, capacity: 1_000_000, byteCapacity: byteCapacity)
            #expect(inserted)
            #expect(window.bytes <= byteCapacity)
        }
        #expect(window.count == 100)
        // The newest are still recognised, the oldest forgotten.
        let newest = window.insert(String(repeating: "x", count: 1020) + "0999", at: 0, window: 600, capacity: 1_000_000, byteCapacity: byteCapacity)
        let oldest = window.insert(String(repeating: "x", count: 1020) + "0000", at: 0, window: 600, capacity: 1_000_000, byteCapacity: byteCapacity)
        #expect(!newest && oldest)
    }
}
