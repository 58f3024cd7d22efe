import Events

/// FNV-1a 64 with a final mix: the same in every process, unlike Swift's `Hasher`, so sampling keeps
/// the same agents across scrapes and restarts.
enum StableHash {
    static func of(_ job: String, _ agent: String) -> UInt64 {
        var hasher = FNV1a()
        hasher.add(job.utf8)
        hasher.add(byte: 0)
        hasher.add(agent.utf8)
        return mix(hasher.value)
    }

    static func of(_ text: String) -> UInt64 { mix(FNV1a.hash(text.utf8)) }

    /// A final avalanche (from splitmix64) so ids that differ in one last character spread evenly.
    private static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
