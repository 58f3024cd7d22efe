/// The hashes of a job's finished items (an item counts as finished once), held in 64 shards.
///
/// A snapshot capture shares a job's values with the live job until the next batch changes them
/// (copy on write). One set would be copied whole by the first batch that finishes an item after a
/// capture began (a job with a million finished items: a pause of 10-40 ms for that batch); with
/// shards that batch copies the list of shards and the one shard it changes, a 64th of the hashes.
struct ItemHashSet: Sendable, Equatable {
    private var shards: [Set<UInt64>] = Array(repeating: [], count: 64)

    init() {}

    init(_ hashes: some Sequence<UInt64>) {
        for hash in hashes { _ = insert(hash) }
    }

    /// Adds `hash`; false when it was already there.
    mutating func insert(_ hash: UInt64) -> Bool {
        // The top bits choose the shard; the sets hash the values with their own seed.
        shards[Int(truncatingIfNeeded: hash >> 58)].insert(hash).inserted
    }

    func contains(_ hash: UInt64) -> Bool { shards[Int(truncatingIfNeeded: hash >> 58)].contains(hash) }

    var count: Int { shards.reduce(0) { $0 + $1.count } }

    /// Every hash, in no particular order.
    var all: [UInt64] {
        var out: [UInt64] = []
        out.reserveCapacity(count)
        for shard in shards { out.append(contentsOf: shard) }
        return out
    }
}
