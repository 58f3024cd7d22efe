import Events
import Foundation

/// The tailer's saved offsets file: JSON, replaced atomically (temporary file, fsync, rename).
struct OffsetStore {
    private struct Document: Codable {
        var version: Int
        var files: [Entry]
    }

    private struct Entry: Codable {
        var path: String
        var device: UInt64
        var inode: UInt64
        var offset: Int64
        var fingerprintLength: Int?
        /// Hex, because JSON readers elsewhere may round 64-bit numbers.
        var fingerprint: String?
    }

    private static let version = 1

    let path: String

    /// The saved points; empty when the file does not exist yet.
    func load() throws -> [FileIdentity: SourcePosition] {
        guard FileManager.default.fileExists(atPath: path) else { return [:] }
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let document = try JSONDecoder().decode(Document.self, from: data)
        var points: [FileIdentity: SourcePosition] = [:]
        for entry in document.files {
            var fingerprint: Fingerprint?
            if let length = entry.fingerprintLength, let hex = entry.fingerprint, let hash = UInt64(hex, radix: 16) {
                fingerprint = Fingerprint(length: length, hash: hash)
            }
            let identity = FileIdentity(device: entry.device, inode: entry.inode)
            points[identity] = .file(identity, path: entry.path, offset: entry.offset, fingerprint: fingerprint)
        }
        return points
    }

    func save(_ points: [FileIdentity: SourcePosition]) throws {
        let files = points.map { identity, point in
            Entry(
                path: point.path, device: identity.device, inode: identity.inode, offset: point.offset,
                fingerprintLength: point.fingerprint?.length,
                fingerprint: point.fingerprint.map { String($0.hash, radix: 16) }
            )
        }.sorted { $0.path < $1.path }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(Document(version: Self.version, files: files))
        try writeAtomically(data)
    }

    private func writeAtomically(_ data: Data) throws {
        let temporary = path + ".tmp"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw POSIXError.current }
        var failure: POSIXError?
        data.withUnsafeBytes { buffer in
            var written = 0
            while written < buffer.count {
                let count = write(descriptor, buffer.baseAddress! + written, buffer.count - written)
                if count < 0 {
                    if errno == EINTR { continue }
                    failure = .current
                    return
                }
                written += count
            }
        }
        // Without fsync a crash after the rename could leave an empty file in place of the old one.
        if failure == nil, fsync(descriptor) != 0 { failure = .current }
        close(descriptor)
        if failure == nil, rename(temporary, path) != 0 { failure = .current }
        if let failure {
            unlink(temporary)
            throw failure
        }
    }
}

extension POSIXError {
    /// The error errno names now.
    static var current: POSIXError {
        POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
    }
}
