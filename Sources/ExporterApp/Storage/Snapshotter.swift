import Alerting
import Clocks
import Dispatch
import Events
import Exposition
import Foundation
import Synchronization
import Tracking

/// `--storage.path`: restores the state before anything starts, then writes a snapshot every
/// interval and once more on shutdown. A snapshot is captured at one sequence number, holding the
/// store's lock a chunk of agents at a time (`ProgressStore.snapshot()`), and written to disk
/// outside it, on the snapshotter's own thread. A write that fails is logged, counted and tried again at the next interval.
final class Snapshotter: Service, SelfMetricsCollector {
    let name = "storage"
    let folder: String
    private let ingestor: Ingestor
    private var store: ProgressStore { ingestor.store }
    private let alerts: AlertEngine
    private let writer: SnapshotWriter
    private let loop: UpkeepLoop

    /// What was restored at start: the state's sequence number and the files' positions.
    struct Restored {
        var sequence: UInt64
        var positions: [SourcePosition]
    }

    struct Unusable: Error, CustomStringConvertible {
        let description: String
    }

    /// `folder` must have passed `prepare` (the journal, opened before, needs it too).
    init(folder: String, interval: Double, ingestor: Ingestor, alerts: AlertEngine, clock: any TimeSource) {
        self.folder = folder
        self.ingestor = ingestor
        self.alerts = alerts
        let writer = SnapshotWriter(folder: folder, store: ingestor.store, alerts: alerts, clock: clock)
        self.writer = writer
        loop = UpkeepLoop(interval: interval) { writer.writeSnapshot() }
    }

    /// Creates the folder when missing and checks that it can be written: a clear error at start,
    /// not a silent failure ten seconds later.
    static func prepare(_ folder: String) throws {
        // A file-size limit reached (RLIMIT_FSIZE) must fail the write with EFBIG, as a full disk
        // does, not end the process.
        signal(SIGXFSZ, SIG_IGN)
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        } catch {
            throw Unusable(description: "--storage.path \(folder): cannot create the folder: \(error.localizedDescription)")
        }
        let probe = folder + "/.write-probe"
        guard FileManager.default.createFile(atPath: probe, contents: Data()) else {
            throw Unusable(description: "--storage.path \(folder): the folder is not writable")
        }
        try? FileManager.default.removeItem(atPath: probe)
    }

    /// Loads the newest good snapshot into the store and the alert engine; nil when there is none.
    /// A snapshot refused for any reason (torn, corrupted, future format) is logged and counted,
    /// and the previous one is tried; the state is replaced whole or not at all.
    func restore() -> Restored? {
        let started = MonotonicClock.nanoseconds()
        var refusals = 0
        let file = SnapshotFile.newest(in: folder) { path, reason in
            refusals += 1
            Log.error("snapshot refused", ["file": path, "reason": reason])
        }
        writer.stats.withLock { $0.loadFailures += UInt64(refusals) }
        guard let file else {
            if refusals > 0 { Log.warn("no usable snapshot: starting with an empty state", ["folder": folder]) }
            return nil
        }
        do {
            try ingestor.restore(from: file.store)
            try alerts.restore(from: file.alerts)
        } catch {
            // The store may have been replaced before the alert section failed: start clean.
            writer.stats.withLock { $0.loadFailures += 1 }
            Log.error("snapshot refused", ["folder": folder, "reason": "\(error)"])
            try? ingestor.restore(from: ProgressStore().snapshot().bytes)
            return nil
        }
        writer.stats.withLock { $0.restoredSequence = file.sequence }
        let positions = store.sourcePositions().positions
        let jobs = store.jobSummaries()
        Log.info("state restored", [
            "folder": folder, "sequence": "\(file.sequence)", "jobs": "\(jobs.count)", "agents": "\(Self.agents(in: jobs))",
            "taken_at": "\(file.takenAt)", "duration_ms": Self.milliseconds(since: started),
        ])
        return Restored(sequence: file.sequence, positions: positions)
    }

    /// The journal opens after the restore (its numbers continue the restored state's): from then
    /// on each snapshot starts a new segment and deletes the ones no kept snapshot needs.
    func attach(_ journal: Journal) {
        writer.journal.withLock { $0 = journal }
    }

    /// The store sequence the newest snapshot written during this run holds (0 before the first).
    var lastWrittenSequence: UInt64 { writer.stats.withLock { $0.lastSequence } }

    func start() throws { loop.start() }

    /// Stops the timer and writes the last snapshot (the services that feed the store are stopped by
    /// now), and says so: what it holds and how long it took, so a shutdown shows that nothing is lost.
    func stop() {
        loop.stop()
        let started = MonotonicClock.nanoseconds()
        guard let written = writer.writeSnapshot() else { return }
        let jobs = store.jobSummaries()
        Log.info("snapshot written", [
            "folder": folder, "sequence": "\(written.sequence)", "jobs": "\(jobs.count)", "agents": "\(Self.agents(in: jobs))",
            "bytes": "\(written.bytes)", "duration_ms": Self.milliseconds(since: started),
        ])
    }

    private static func agents(in jobs: [JobSummary]) -> Int { jobs.reduce(0) { $0 + $1.agents.values.reduce(0, +) } }

    private static func milliseconds(since start: UInt64) -> String {
        String(format: "%.1f", Double(MonotonicClock.nanoseconds() - start) / 1e6)
    }

    static let lastSuccess = MetricFamily("progress_exporter_storage_last_success_timestamp_seconds", .gauge, help: "Unix time of the last snapshot written.")
    static let capture = MetricFamily("progress_exporter_storage_last_capture_seconds", .gauge, help: "How long capturing the last snapshot took (the store's lock is held for a chunk of agents at a time).")
    static let write = MetricFamily("progress_exporter_storage_last_write_seconds", .gauge, help: "How long writing the last snapshot took (outside the store's lock).")
    static let bytes = MetricFamily("progress_exporter_storage_last_bytes", .gauge, help: "Size of the last snapshot written.")
    static let sequence = MetricFamily("progress_exporter_storage_last_sequence", .gauge, help: "Sequence number of the state in the last snapshot written.")
    static let writeFailures = MetricFamily("progress_exporter_storage_write_failures_total", .counter, help: "Snapshots that could not be written (retried at the next interval).")
    static let loadFailures = MetricFamily("progress_exporter_storage_load_failures_total", .counter, help: "Snapshots refused at start (torn, corrupted, unreadable or from a newer format).")
    static let restored = MetricFamily("progress_exporter_storage_restored_sequence", .gauge, help: "Sequence number of the state restored at start; absent when none was.")

    func collect(into w: inout ExpositionWriter) {
        let s = writer.stats.withLock { $0 }
        if let last = s.lastSuccess {
            w.family(Self.lastSuccess)
            w.sample(Self.lastSuccess, .empty, .empty, last)
        }
        for (family, value) in [(Self.capture, s.lastCaptureSeconds), (Self.write, s.lastWriteSeconds), (Self.bytes, Double(s.lastBytes)),
                                (Self.sequence, Double(s.lastSequence)), (Self.writeFailures, Double(s.writeFailures)), (Self.loadFailures, Double(s.loadFailures))] {
            w.family(family)
            w.sample(family, .empty, .empty, value)
        }
        if let restored = s.restoredSequence {
            w.family(Self.restored)
            w.sample(Self.restored, .empty, .empty, Double(restored))
        }
    }
}

/// Captures and writes snapshots; shared by the snapshotter's timer and its final write.
final class SnapshotWriter: Sendable {
    struct Stats {
        var lastSuccess: Double?
        var lastCaptureSeconds = 0.0
        var lastWriteSeconds = 0.0
        var lastBytes = 0
        var lastSequence: UInt64 = 0
        var writeFailures: UInt64 = 0
        var loadFailures: UInt64 = 0
        var restoredSequence: UInt64?
    }

    let folder: String
    let store: ProgressStore
    let alerts: AlertEngine
    let clock: any TimeSource
    let journal = Mutex<Journal?>(nil)
    let stats = Mutex(Stats())
    /// One write at a time (the timer's and the final one).
    private let writing = Mutex(())

    init(folder: String, store: ProgressStore, alerts: AlertEngine, clock: any TimeSource) {
        self.folder = folder
        self.store = store
        self.alerts = alerts
        self.clock = clock
    }

    /// Captures the state (the only part that takes the store's lock) and writes it out; what was
    /// written, or nil when the write failed.
    @discardableResult
    func writeSnapshot() -> (sequence: UInt64, bytes: Int)? {
        writing.withLock { _ -> (sequence: UInt64, bytes: Int)? in
            // Journal segments closed before the capture hold only batches the snapshot includes.
            let journal = journal.withLock { $0 }
            let boundary = journal?.rotate()
            let captureStart = MonotonicClock.nanoseconds()
            let (sequence, storeBytes) = store.snapshot()
            let alertBytes = alerts.snapshot()
            let captured = MonotonicClock.nanoseconds()
            let bytes = SnapshotFile(sequence: sequence, takenAt: clock.now(), store: storeBytes, alerts: alertBytes).encoded()
            do {
                try SnapshotFile.write(bytes, folder: folder)
                journal?.snapshotWritten(boundary: boundary)
                let done = MonotonicClock.nanoseconds()
                stats.withLock {
                    $0.lastSuccess = clock.now()
                    $0.lastCaptureSeconds = Double(captured - captureStart) / 1e9
                    $0.lastWriteSeconds = Double(done - captured) / 1e9
                    $0.lastBytes = bytes.count
                    $0.lastSequence = sequence
                }
                return (sequence, bytes.count)
            } catch {
                stats.withLock { $0.writeFailures += 1 }
                Log.error("snapshot not written; trying again at the next interval", ["folder": folder, "err": "\(error)"])
                return nil
            }
        }
    }
}
