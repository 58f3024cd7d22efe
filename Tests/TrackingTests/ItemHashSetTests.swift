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
