import Events
import Glibc

/// A hash of a file's first bytes, so a new file that reuses an old inode number is not mistaken for it,
/// and a file rewritten in place (copytruncate followed by fast appends) is noticed even if it grew.
struct Fingerprint: Equatable, Sendable {
    /// Enough to cover the first event line or two, which carry an id and a timestamp.
    static let maxLength = 1024

    var length: Int
    var hash: UInt64

    /// Hashes the first `min(limit, maxLength)` bytes of the open file; nil if they cannot be read.
    static func of(descriptor: Int32, limit: Int64) -> Fingerprint? {
        let length = Int(min(limit, Int64(maxLength)))
        var bytes = [UInt8](repeating: 0, count: length)
        var filled = 0
        while filled < length {
            let count = bytes.withUnsafeMutableBytes { buffer in
                pread(descriptor, buffer.baseAddress! + filled, length - filled, off_t(filled))
            }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { return nil }
            filled += count
        }
        return Fingerprint(length: length, hash: fnv1a(bytes))
    }

    private static func fnv1a(_ bytes: [UInt8]) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
        return hash
    }
}

extension SourcePosition {
    /// A followed file's position: `offset` is the end of the last complete line delivered.
    static func file(_ identity: FileIdentity, path: String, offset: Int64, fingerprint: Fingerprint?) -> SourcePosition {
        SourcePosition(
            source: LineOrigin.fileSource, path: path, device: identity.device, inode: identity.inode, offset: offset,
            fingerprintLength: fingerprint?.length ?? 0, fingerprintHash: fingerprint?.hash ?? 0)
    }

    var identity: FileIdentity { FileIdentity(device: device, inode: inode) }

    var fingerprint: Fingerprint? {
        fingerprintLength > 0 ? Fingerprint(length: fingerprintLength, hash: fingerprintHash) : nil
    }

    /// Whether the open file is the one this position was taken from.
    func matches(descriptor: Int32, size: Int64) -> Bool {
        guard size >= offset else { return false }
        guard let fingerprint else { return offset == 0 }
        return Fingerprint.of(descriptor: descriptor, limit: Int64(fingerprint.length)) == fingerprint
    }
}
