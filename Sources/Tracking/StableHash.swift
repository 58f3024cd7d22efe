/// FNV-1a 64: a hash that, unlike Swift's `Hasher`, is the same in every process, so sampling
/// keeps the same agents across scrapes and restarts.
enum StableHash {
    static func of(_ job: String, _ agent: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in job.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        hash = (hash ^ 0) &* 0x100_0000_01b3
        for byte in agent.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return mix(hash)
    }

    static func of(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return mix(hash)
    }

    /// A final avalanche (from splitmix64) so ids that differ in one last character spread evenly.
    private static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
