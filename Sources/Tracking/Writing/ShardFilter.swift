import Events

/// Which jobs one of `count` exporters owns: those whose id hashes to its `index`, so every job lives whole on one shard.
public struct ShardFilter: Sendable, Equatable {
    public let index: Int
    public let count: Int

    /// Why `--shard.index` / `--shard.count` cannot name a shard.
    public struct Invalid: Error, Equatable, CustomStringConvertible {
        public let description: String
    }

    public init(index: Int, count: Int) throws(Invalid) {
        guard count >= 1 else { throw Invalid(description: "--shard.count must be at least 1, not \(count)") }
        guard (0..<count).contains(index) else {
            throw Invalid(description: "--shard.index must be in 0...\(count - 1) for --shard.count \(count), not \(index)")
        }
        self.index = index
        self.count = count
    }

    public func owns(job: String) -> Bool { Self.shard(of: job, count: count) == index }

    /// The shard of a job: FNV-1a 64 of the id's UTF-8 bytes, its high half folded into the low half,
    /// modulo `count`. The fold matters: plain FNV-1a's low bits depend only on the bytes' low bits,
    /// so with 2 shards the shard would be the parity of the odd bytes. Trackers in other languages
    /// route with the same function (docs/scaling.md, "Scaling past one machine"), so it must never change.
    public static func shard(of job: String, count: Int) -> Int {
        let hash = fnv1a64(job.utf8)
        return Int((hash ^ (hash >> 32)) % UInt64(count))
    }

    /// FNV-1a 64 without a final mix, so it fits in three lines of any language.
    public static func fnv1a64(_ bytes: some Sequence<UInt8>) -> UInt64 { FNV1a.hash(bytes) }
}
