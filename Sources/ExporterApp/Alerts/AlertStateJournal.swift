import Alerting
import CZlib
import Exposition
import Foundation
import Glibc
import Synchronization
import Tracking

/// What receivers were told, on disk before they are told it: every fire and resolve of an
/// evaluation is appended to `alerts.journal` in `--storage.path` and fsynced before the
/// notifications are queued. At start, after the snapshot, the alert states are made to agree
/// with it (`AlertEngine.adoptAnnounced`), so a crash at any moment (kill -9 right after a fire,
/// before the next snapshot) never announces an alert twice or with another `startsAt`.
///
/// File: "PEXALRT\0", u32 version, then records: u32 length of the payload, u32 CRC-32 of it,
/// payload = u8 kind (1 fired, 2 resolved) + an alert (`AlertEngine.encodeAnnounced`). A torn last
/// record (a crash mid-write) is cut off at start. When it holds many more records than firing
/// alerts, the file is rewritten with just the firing ones (temporary file, fsync, rename).
final class AlertStateJournal: Sendable, SelfMetricsCollector {
    static let fileName = "alerts.journal"
    private static let magic = Array("PEXALRT\0".utf8)
    private static let version: UInt32 = 1
    private static let fired: UInt8 = 1, resolved: UInt8 = 2

    let path: String
    private struct State {
        var descriptor: Int32
        /// The firing alerts the file says were announced, by identity.
        var firing: [AlertKey: [UInt8]] = [:]
        var records = 0
        var writes: UInt64 = 0
        var failures: UInt64 = 0
    }
    private let state: Mutex<State>

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Opens (or creates) the journal in `folder`; returns it with the alerts it says are firing,
    /// or nil for those when there was no journal yet (nothing to adopt: the snapshot is all there is).
    static func open(folder: String) throws(Failure) -> (journal: AlertStateJournal, announced: [AlertStateMachine.Active]?) {
        let path = folder + "/" + fileName
        let existing = FileManager.default.contents(atPath: path).map { [UInt8]($0) }
        var firing: [AlertKey: [UInt8]] = [:]
        var records = 0
        var goodLength = 0
        if let bytes = existing, bytes.count >= magic.count + 4, Array(bytes.prefix(magic.count)) == magic {
            var offset = magic.count + 4
            goodLength = offset
            while offset + 8 <= bytes.count {
                let length = Int(readU32(bytes, offset)), checksum = readU32(bytes, offset + 4)
                guard length >= 1, length <= bytes.count - offset - 8 else { break }
                let payload = Array(bytes[(offset + 8)..<(offset + 8 + length)])
                guard crc32(payload) == checksum, let alert = try? AlertEngine.decodeAnnounced(Array(payload.dropFirst())) else { break }
                switch payload[0] {
                case Self.fired: firing[alert.condition.key] = Array(payload.dropFirst())
                case Self.resolved: firing[alert.condition.key] = nil
                default: break
                }
                records += 1
                offset += 8 + length
                goodLength = offset
            }
            if goodLength < bytes.count {
                Log.warn("alert journal: a torn or unreadable tail was cut off", ["file": path, "bytes": "\(bytes.count - goodLength)"])
            }
        } else if let bytes = existing, !bytes.isEmpty {
            Log.warn("alert journal not recognised: starting a new one", ["file": path])
        }
        let journal: AlertStateJournal
        if goodLength > 0 {
            let descriptor = Glibc.open(path, O_WRONLY | O_CLOEXEC)
            guard descriptor >= 0, ftruncate(descriptor, off_t(goodLength)) == 0, lseek(descriptor, 0, SEEK_END) >= 0 else {
                throw Failure(description: "cannot open \(path): \(String(cString: strerror(errno)))")
            }
            journal = AlertStateJournal(path: path, state: State(descriptor: descriptor, firing: firing, records: records))
        } else {
            journal = AlertStateJournal(path: path, state: State(descriptor: try rewrite(path, with: [])))
        }
        let announced = goodLength > 0 ? firing.values.compactMap { try? AlertEngine.decodeAnnounced($0) } : nil
        return (journal, announced)
    }

    private init(path: String, state: State) {
        self.path = path
        self.state = Mutex(state)
    }

    deinit { state.withLock { _ = close($0.descriptor) } }

    /// Appends one evaluation's transitions and fsyncs them; a failure is logged and counted, and the
    /// notifications go out anyway (a missed alert is worse than one announced twice after a crash).
    func record(_ transitions: [AlertStateMachine.Transition]) {
        state.withLock { state in
            var bytes: [UInt8] = []
            for transition in transitions {
                let (kind, alert): (UInt8, AlertStateMachine.Active)
                switch transition {
                case .fired(let active): (kind, alert) = (Self.fired, active)
                case .resolved(let active, _): (kind, alert) = (Self.resolved, active)
                }
                let encoded = AlertEngine.encodeAnnounced(alert)
                let payload = [kind] + encoded
                Self.appendU32(UInt32(payload.count), to: &bytes)
                Self.appendU32(Self.crc32(payload), to: &bytes)
                bytes += payload
                state.firing[alert.condition.key] = kind == Self.fired ? encoded : nil
                state.records += 1
            }
            do throws(Failure) {
                if state.records > max(1_000, 4 * state.firing.count) {
                    let descriptor = try Self.rewrite(path, with: Array(state.firing.values))
                    close(state.descriptor)
                    state.descriptor = descriptor
                    state.records = state.firing.count
                } else {
                    try Self.write(bytes, to: state.descriptor, path: path)
                    guard fsync(state.descriptor) == 0 else { throw Failure(description: "cannot fsync \(path): \(String(cString: strerror(errno)))") }
                }
                state.writes += 1
            } catch {
                state.failures += 1
                Log.error("alert journal not written: after a crash these alerts may be announced again", ["err": error.description])
            }
        }
    }

    /// A new journal holding `firing` as fired records, put in place atomically; returns it open for appending.
    private static func rewrite(_ path: String, with firing: [[UInt8]]) throws(Failure) -> Int32 {
        var bytes = magic
        appendU32(version, to: &bytes)
        for encoded in firing {
            let payload = [fired] + encoded
            appendU32(UInt32(payload.count), to: &bytes)
            appendU32(crc32(payload), to: &bytes)
            bytes += payload
        }
        let temporary = path + ".tmp"
        let descriptor = Glibc.open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw Failure(description: "cannot create \(temporary): \(String(cString: strerror(errno)))") }
        do throws(Failure) {
            try write(bytes, to: descriptor, path: temporary)
            guard fsync(descriptor) == 0 else { throw Failure(description: "cannot fsync \(temporary): \(String(cString: strerror(errno)))") }
            guard rename(temporary, path) == 0 else { throw Failure(description: "cannot rename \(temporary): \(String(cString: strerror(errno)))") }
        } catch {
            close(descriptor)
            throw error
        }
        let folder = Glibc.open((path as NSString).deletingLastPathComponent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if folder >= 0 {
            fsync(folder)
            close(folder)
        }
        return descriptor
    }

    private static func write(_ bytes: [UInt8], to descriptor: Int32, path: String) throws(Failure) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw Failure(description: "cannot write \(path): \(String(cString: strerror(errno)))") }
            offset += n
        }
    }

    private static func appendU32(_ value: UInt32, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { bytes += $0 }
    }

    private static func readU32(_ bytes: [UInt8], _ offset: Int) -> UInt32 {
        (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[offset + $1]) << (8 * UInt32($1)) }
    }

    private static func crc32(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBufferPointer { UInt32(truncatingIfNeeded: CZlib.crc32(0, $0.baseAddress, UInt32($0.count))) }
    }

    static let writes = MetricFamily("progress_exporter_alert_journal_writes_total", .counter, help: "Evaluations whose alert fires and resolves were written to the alert-state journal before they were sent.")
    static let failures = MetricFamily("progress_exporter_alert_journal_write_failures_total", .counter, help: "Alert-state journal writes that failed (the notifications went out anyway).")

    func collect(into w: inout ExpositionWriter) {
        let (writes, failures) = state.withLock { ($0.writes, $0.failures) }
        w.family(Self.writes)
        w.sample(Self.writes, .empty, .empty, Double(writes))
        w.family(Self.failures)
        w.sample(Self.failures, .empty, .empty, Double(failures))
    }
}
