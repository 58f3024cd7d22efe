import CZlib
import Foundation
import Glibc
import Tracking

/// The snapshot file: a magic number, a format version, the sequence number and time it was taken,
/// the store's and the alert engine's state, and a CRC-32 of everything before it.
///
///     "PEXSNAP\0"  u32 version  u64 sequence  f64 taken-at  blob store  blob alerts  u32 crc32
///
/// Written atomically (temporary file, fsync, rename, fsync of the folder); the one it replaces is
/// kept as `state.snap.previous`, so a snapshot that turns out bad on reading falls back one step.
struct SnapshotFile: Equatable {
    static let magic: [UInt8] = Array("PEXSNAP\0".utf8)
    /// Bump when the layout changes, and keep a reader for the versions before.
    static let formatVersion: UInt32 = 1
    static let currentName = "state.snap"
    static let previousName = "state.snap.previous"

    var sequence: UInt64
    var takenAt: Double
    var store: [UInt8]
    var alerts: [UInt8]

    struct Invalid: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    func encoded() -> [UInt8] {
        var w = BinaryWriter(reserving: store.count + alerts.count + 64)
        for b in Self.magic { w.u8(b) }
        w.u32(Self.formatVersion)
        w.u64(sequence)
        w.double(takenAt)
        w.raw(store)
        w.raw(alerts)
        w.u32(Self.crc32(w.bytes))
        return w.bytes
    }

    static func decode(_ bytes: [UInt8]) throws(Invalid) -> SnapshotFile {
        guard bytes.count >= magic.count + 4, Array(bytes.prefix(magic.count)) == magic else {
            throw Invalid("not a progress-exporter snapshot (no magic number)")
        }
        var r = BinaryReader(bytes, from: magic.count)
        do {
            let version = try r.u32()
            guard version <= formatVersion else {
                throw Invalid("written in format \(version) by a newer exporter; this one reads up to \(formatVersion)")
            }
            guard bytes.count >= magic.count + 8 else { throw Invalid("truncated") }
            let stored = UInt32(bytes[bytes.count - 4]) | UInt32(bytes[bytes.count - 3]) << 8
                | UInt32(bytes[bytes.count - 2]) << 16 | UInt32(bytes[bytes.count - 1]) << 24
            guard crc32(Array(bytes.dropLast(4))) == stored else { throw Invalid("checksum mismatch: the file is torn or corrupted") }
            let file = SnapshotFile(sequence: try r.u64(), takenAt: try r.double(), store: try r.raw(), alerts: try r.raw())
            guard r.remaining == 4 else { throw Invalid("\(r.remaining - 4) unexpected bytes before the checksum") }
            return file
        } catch let error as Invalid {
            throw error
        } catch {
            throw Invalid("truncated or malformed: \(error)")
        }
    }

    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBufferPointer { buffer in
            var crc = CZlib.crc32(0, nil, 0)
            var offset = 0
            while offset < buffer.count {
                let n = min(buffer.count - offset, Int(UInt32.max))
                crc = CZlib.crc32(crc, buffer.baseAddress! + offset, UInt32(n))
                offset += n
            }
            return UInt32(truncatingIfNeeded: crc)
        }
    }

    // MARK: files

    struct IOFailure: Error, CustomStringConvertible {
        let description: String
    }

    /// Writes `bytes` as the folder's current snapshot; the one before becomes the previous one.
    static func write(_ bytes: [UInt8], folder: String) throws(IOFailure) {
        let temporary = folder + "/.state.snap.tmp"
        let descriptor = Glibc.open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw IOFailure(description: "cannot create \(temporary): \(String(cString: strerror(errno)))") }
        var written = 0
        let failure: String? = bytes.withUnsafeBytes { buffer in
            while written < buffer.count {
                let n = Glibc.write(descriptor, buffer.baseAddress! + written, buffer.count - written)
                if n < 0 {
                    if errno == EINTR { continue }
                    return "cannot write \(temporary): \(String(cString: strerror(errno)))"
                }
                written += n
            }
            return fsync(descriptor) == 0 ? nil : "cannot fsync \(temporary): \(String(cString: strerror(errno)))"
        }
        Glibc.close(descriptor)
        if let failure {
            unlink(temporary)
            throw IOFailure(description: failure)
        }
        let current = folder + "/" + currentName
        if access(current, F_OK) == 0, rename(current, folder + "/" + previousName) != 0 {
            throw IOFailure(description: "cannot keep the previous snapshot: \(String(cString: strerror(errno)))")
        }
        guard rename(temporary, current) == 0 else {
            throw IOFailure(description: "cannot rename \(temporary): \(String(cString: strerror(errno)))")
        }
        let directory = Glibc.open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directory >= 0 {
            fsync(directory)
            Glibc.close(directory)
        }
    }

    /// The newest readable snapshot of the folder, trying the current one, then the previous one;
    /// each one refused is reported to `refused` with its reason.
    static func newest(in folder: String, refused: (String, String) -> Void) -> SnapshotFile? {
        for name in [currentName, previousName] {
            let path = folder + "/" + name
            guard FileManager.default.fileExists(atPath: path) else { continue }
            guard let data = FileManager.default.contents(atPath: path) else {
                refused(path, "cannot be read")
                continue
            }
            do {
                return try decode(Array(data))
            } catch {
                refused(path, error.description)
            }
        }
        return nil
    }
}
