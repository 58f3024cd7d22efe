/// 64-bit FNV-1a: a hash that is the same in every process and language, unlike Swift's `Hasher`,
/// for sampling, sharding and alert fingerprints.
public struct FNV1a: Sendable {
    /// Internal but inlinable, so callers in other modules hash without a call per byte.
    @usableFromInline var state: UInt64 = 0xcbf2_9ce4_8422_2325

    public var value: UInt64 { state }

    @inlinable public init() {}

    /// Hashes in a byte loop over contiguous storage when the sequence has it (a String's UTF-8
    /// does), so a caller in another module does not pay a generic iterator call per byte.
    @inlinable public mutating func add(_ bytes: some Sequence<UInt8>) {
        let done: Void? = bytes.withContiguousStorageIfAvailable { buffer in
            var hash = state
            for byte in buffer { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
            state = hash
        }
        if done == nil { for byte in bytes { add(byte: byte) } }
    }

    @inlinable public mutating func add(byte: UInt8) {
        state = (state ^ UInt64(byte)) &* 0x100_0000_01b3
    }

    @inlinable public static func hash(_ bytes: some Sequence<UInt8>) -> UInt64 {
        var hasher = FNV1a()
        hasher.add(bytes)
        return hasher.value
    }
}
