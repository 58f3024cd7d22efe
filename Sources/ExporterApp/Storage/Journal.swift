import Dispatch
import Events
import Exposition
import Foundation
import Glibc
import Synchronization
import Tracking

/// `--storage.journal`: a write-ahead journal for the sources that have no position of their own
/// (POST /events and standard input). A batch is framed, checksummed and fsynced *before* it is
/// applied (`commit`), so a body answered 202 is on disk, and a body answered 503 was neither
/// applied nor kept: sending it again never counts it twice.
///
/// Group commit: writers append under one lock (to the page cache, fast) and take a ticket (the
/// batch's journal sequence number); one fsync covers every record written before it began. Batches
/// are then applied in ticket order, each recording its ticket as the journal's position in the
/// store, under the same lock as its events, so a snapshot holds "every batch up to N" exactly.
///
/// Failures never leave a bad record in front of good ones: a write that fails part-way (a full
/// disk) is cut off the file at once; an fsync that fails fails every batch it covered and cuts the
/// file back to what was known on disk. If the file cannot be cut, a new segment is started with a
/// discard record naming the failed batches, so a restart does not apply them either.
///
/// Segments (`journal-<n>.wal`) are started at each snapshot. One is deleted only once the snapshot
/// *before* the newest is past it, so a damaged newest snapshot falls back to the previous one and
/// the journal completes it.
final class Journal: Sendable, SelfMetricsCollector {
    let folder: String

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    private struct Segment {
        var descriptor: Int32
        var number: UInt64
        var size: Int64
        /// Bytes known to be on disk.
        var syncedSize: Int64
    }

    private struct State {
        /// nil while no segment could be opened: every commit fails until one can.
        var segment: Segment?
        var nextSegmentNumber: UInt64
        /// The last sequence number written, and the last known to be on disk.
        var written: UInt64
        var synced: UInt64
        /// Batches written but lost to a failed fsync: answered 503, never applied.
        var failed: [ClosedRange<UInt64>] = []
        /// Failed batches still in a file that could not be cut back: a discard record must name them
        /// before anything else is written.
        var undiscarded: [ClosedRange<UInt64>] = []
        /// The first segment of the newest snapshot: older ones are needed only by that snapshot's
        /// predecessor, until the next snapshot is written.
        var newestSnapshotBoundary: UInt64?

        func isFailed(_ ticket: UInt64) -> Bool { failed.contains { $0.contains(ticket) } }
    }

    private struct Counts {
        var records: UInt64 = 0
        var failures: UInt64 = 0
        var fsyncs: UInt64 = 0
        var damaged: UInt64 = 0
        var truncated: UInt64 = 0
        var discards: UInt64 = 0
    }

    /// Whose turn it is to apply: the last ticket applied (or failed), and who waits for the next.
    private struct Turns {
        var done: UInt64
        var waiting: [UInt64: [DispatchSemaphore]] = [:]
    }

    private let state: Mutex<State>
    private let counts = Mutex(Counts())
    private let syncing = Mutex(())
    private let turns: Mutex<Turns>
    /// fsync, replaceable by tests that need it to fail.
    private let syncFile: @Sendable (Int32) -> Int32

    /// Opens a new segment after the folder's existing ones; `after` is the highest sequence number
    /// already used (in the files read at start, or in the restored state), so numbers never repeat.
    init(folder: String, after lastSequence: UInt64, found: JournalReader? = nil, syncFile: @escaping @Sendable (Int32) -> Int32 = { fsync($0) }) throws(Failure) {
        self.folder = folder
        self.syncFile = syncFile
        let number = (JournalReader.segmentPaths(in: folder).last?.number ?? 0) + 1
        let segment = try Self.open(folder: folder, number: number)
        state = Mutex(State(segment: segment, nextSegmentNumber: number + 1, written: lastSequence, synced: lastSequence))
        turns = Mutex(Turns(done: lastSequence))
        if let found {
            counts.withLock {
                $0.damaged = UInt64(found.damaged.count)
                $0.truncated = UInt64(found.truncated.count)
            }
        }
    }

    private static func open(folder: String, number: UInt64) throws(Failure) -> Segment {
        let path = JournalReader.segmentPath(folder: folder, number: number)
        let descriptor = Glibc.open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw Failure(description: "cannot open \(path): \(String(cString: strerror(errno)))") }
        var info = stat()
        let size = fstat(descriptor, &info) == 0 ? Int64(info.st_size) : 0
        return Segment(descriptor: descriptor, number: number, size: size, syncedSize: size)
    }

    /// Makes `body` durable, then runs `apply` with the journal position it must be applied with,
    /// in the order the batches were written. Throws (and `apply` is not run) when the batch could
    /// not be made durable: the caller answers "send again", and nothing was counted.
    /// `position`: a bus consumer's sequence, kept in the record and applied with it at a restart.
    /// `arrived`: when the batch arrived, applied with it now and at a replay.
    func commit<T>(source: String, body: [UInt8], arrived: Double, position: SourcePosition? = nil, apply: (SourcePosition) -> T) throws(Failure) -> T {
        let ticket: UInt64
        do {
            ticket = try write(source: source, body: body, arrived: arrived, position: position)
        } catch {
            counts.withLock { $0.failures += 1 }
            throw error
        }
        var failure: Failure?
        do { try sync(through: ticket) } catch { failure = error }
        waitForTurn(ticket)
        defer { finishTurn(ticket) }
        if let failure {
            counts.withLock { $0.failures += 1 }
            throw failure
        }
        counts.withLock { $0.records += 1 }
        return apply(.journal(through: ticket))
    }

    private func write(source: String, body: [UInt8], arrived: Double, position: SourcePosition?) throws(Failure) -> UInt64 {
        try state.withLock { (s: inout State) throws(Failure) -> UInt64 in
            try writeDiscards(&s)
            guard var segment = s.segment else { throw Failure(description: "no journal segment is open in \(folder)") }
            let ticket = s.written + 1
            let bytes = JournalRecord.batch(sequence: ticket, arrived: arrived, source: source, body: body, position: position).encoded()
            do {
                try Self.writeAll(bytes, to: segment.descriptor)
            } catch {
                cutOffFailedWrite(&s, to: segment.size)
                throw Failure(description: "cannot write \(JournalReader.segmentPath(folder: folder, number: segment.number)): \(error); the events were not applied")
            }
            segment.size += Int64(bytes.count)
            s.segment = segment
            s.written = ticket
            return ticket
        }
    }

    /// One fsync for every record written before it began.
    private func sync(through ticket: UInt64) throws(Failure) {
        try syncing.withLock { (_: inout ()) throws(Failure) in
            let pending = state.withLock { s -> (descriptor: Int32, number: UInt64, through: UInt64, size: Int64)? in
                guard s.synced < ticket, !s.isFailed(ticket), let segment = s.segment else { return nil }
                return (segment.descriptor, segment.number, s.written, segment.size)
            }
            if let pending {
                if syncFile(pending.descriptor) == 0 {
                    counts.withLock { $0.fsyncs += 1 }
                    state.withLock { s in
                        s.synced = max(s.synced, pending.through)
                        if var segment = s.segment, segment.number == pending.number {
                            segment.syncedSize = max(segment.syncedSize, pending.size)
                            s.segment = segment
                        }
                    }
                } else {
                    let reason = String(cString: strerror(errno))
                    state.withLock { s in failUnsynced(&s, reason: reason) }
                }
            }
            guard state.withLock({ !$0.isFailed(ticket) && $0.synced >= ticket }) else {
                throw Failure(description: "cannot fsync the journal in \(folder); the events were not applied")
            }
        }
    }

    /// After a failed fsync: every batch not known to be on disk fails, and the file is cut back to
    /// what is (or, when it cannot be cut, a discard record will name them).
    private func failUnsynced(_ s: inout State, reason: String) {
        guard s.written > s.synced, let segment = s.segment else { return }
        let lost = (s.synced + 1)...s.written
        s.failed.append(lost)
        Log.error("journal fsync failed; the batches it covered are answered 503 and not applied", [
            "folder": folder, "err": reason, "batches": "\(lost.count)",
        ])
        if ftruncate(segment.descriptor, off_t(segment.syncedSize)) == 0 {
            s.segment?.size = segment.syncedSize
        } else {
            s.undiscarded.append(lost)
            startNewSegment(&s, reason: String(cString: strerror(errno)))
        }
    }

    /// After a write that failed part-way: cuts the partial record off, so later records follow a
    /// clean end. When the file cannot be cut, the batches already in it are made durable (or
    /// failed) and a new segment is started; the torn record left behind is skipped by readers.
    private func cutOffFailedWrite(_ s: inout State, to size: Int64) {
        guard let segment = s.segment else { return }
        if ftruncate(segment.descriptor, off_t(size)) == 0 {
            s.segment?.size = size
            return
        }
        let reason = String(cString: strerror(errno))
        if s.written > s.synced {
            if syncFile(segment.descriptor) == 0 {
                s.synced = s.written
            } else {
                let lost = (s.synced + 1)...s.written
                s.failed.append(lost)
                s.undiscarded.append(lost)
            }
        }
        startNewSegment(&s, reason: reason)
    }

    /// Closes the current segment and opens the next (nil when it cannot: commits then fail until
    /// one can be opened).
    private func startNewSegment(_ s: inout State, reason: String) {
        Log.error("cannot cut a failed journal write off; starting a new segment", ["folder": folder, "err": reason])
        if let segment = s.segment { Glibc.close(segment.descriptor) }
        s.segment = try? Self.open(folder: folder, number: s.nextSegmentNumber)
        s.nextSegmentNumber += 1
    }

    /// Writes the discard records still owed; throws while they cannot be written (every commit
    /// then fails, applying nothing).
    private func writeDiscards(_ s: inout State) throws(Failure) {
        if s.segment == nil {
            s.segment = try Self.open(folder: folder, number: s.nextSegmentNumber)
            s.nextSegmentNumber += 1
        }
        while let range = s.undiscarded.first, let segment = s.segment {
            let bytes = JournalRecord.discard(sequence: s.written, first: range.lowerBound, last: range.upperBound).encoded()
            do {
                try Self.writeAll(bytes, to: segment.descriptor)
                guard syncFile(segment.descriptor) == 0 else { throw Failure(description: "cannot fsync: \(String(cString: strerror(errno)))") }
            } catch {
                cutOffFailedWrite(&s, to: segment.size)
                throw Failure(description: "cannot record that failed batches are void (\(error)); the events were not applied")
            }
            var written = segment
            written.size += Int64(bytes.count)
            written.syncedSize = written.size
            s.segment = written
            s.undiscarded.removeFirst()
            counts.withLock { $0.discards += 1 }
        }
    }

    private static func writeAll(_ bytes: [UInt8], to descriptor: Int32) throws(Failure) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress! + offset, bytes.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                throw Failure(description: String(cString: strerror(errno)))
            }
            offset += n
        }
    }

    private func waitForTurn(_ ticket: UInt64) {
        let semaphore = turns.withLock { t -> DispatchSemaphore? in
            if t.done + 1 >= ticket { return nil }
            let semaphore = DispatchSemaphore(value: 0)
            t.waiting[ticket, default: []].append(semaphore)
            return semaphore
        }
        semaphore?.wait()
    }

    private func finishTurn(_ ticket: UInt64) {
        turns.withLock { t in
            t.done = ticket
            for semaphore in t.waiting.removeValue(forKey: ticket + 1) ?? [] { semaphore.signal() }
        }
        state.withLock { s in s.failed.removeAll { $0.upperBound <= ticket } }
    }

    /// Before a snapshot is captured: starts a new segment and waits until every batch written to
    /// the old ones has been applied (or has failed), so the snapshot covers them all. Returns the new
    /// segment's number (nil when none could be opened: the snapshot then covers no segment whole).
    func rotate() -> UInt64? {
        let (number, through) = syncing.withLock { _ in
            state.withLock { s -> (UInt64?, UInt64) in
                guard let old = s.segment else { return (nil, s.written) }
                if s.written > s.synced || old.size > old.syncedSize {
                    if syncFile(old.descriptor) == 0 {
                        s.synced = s.written
                    } else {
                        failUnsynced(&s, reason: String(cString: strerror(errno)))
                    }
                }
                guard let next = try? Self.open(folder: folder, number: s.nextSegmentNumber) else { return (nil, s.written) }
                s.nextSegmentNumber += 1
                // A cut-back old segment may have been replaced: close whichever is current.
                if let current = s.segment { Glibc.close(current.descriptor) }
                s.segment = next
                return (next.number, s.written)
            }
        }
        let semaphore = turns.withLock { t -> DispatchSemaphore? in
            if t.done >= through { return nil }
            let semaphore = DispatchSemaphore(value: 0)
            t.waiting[through + 1, default: []].append(semaphore)
            return semaphore
        }
        semaphore?.wait()
        return number
    }

    /// After a snapshot was written that covers the segments before `boundary`: deletes the
    /// segments the snapshot before it covered (that one is now `state.snap.previous`).
    func snapshotWritten(boundary: UInt64?) {
        let deletable = state.withLock { s -> UInt64? in
            defer { s.newestSnapshotBoundary = boundary }
            return s.newestSnapshotBoundary
        }
        guard let deletable else { return }
        for (number, path) in JournalReader.segmentPaths(in: folder) where number < deletable { unlink(path) }
    }

    static let records = MetricFamily("progress_exporter_storage_journal_records_total", .counter, help: "Batches (POST bodies, standard input lines) made durable in the journal before they were applied.")
    static let failures = MetricFamily("progress_exporter_storage_journal_failures_total", .counter, help: "Batches that could not be made durable and so were not applied (POSTs answered 503: send them again).")
    static let fsyncs = MetricFamily("progress_exporter_storage_journal_fsyncs_total", .counter, help: "fsyncs of the journal; fewer than records when concurrent POSTs share one (group commit).")
    static let damaged = MetricFamily("progress_exporter_storage_journal_damaged_records_total", .counter, help: "Damaged stretches of the journal skipped at start (each one record or more; a copy is kept in quarantine/).")
    static let truncated = MetricFamily("progress_exporter_storage_journal_truncated_segments_total", .counter, help: "Journal segments found at start ending inside a record (a write cut short by a crash; never acknowledged).")
    static let discards = MetricFamily("progress_exporter_storage_journal_discard_records_total", .counter, help: "Discard records written: failed batches that could not be cut off the file, named so a restart skips them.")

    func collect(into w: inout ExpositionWriter) {
        let c = counts.withLock { $0 }
        for (family, value) in [(Self.records, c.records), (Self.failures, c.failures), (Self.fsyncs, c.fsyncs),
                                (Self.damaged, c.damaged), (Self.truncated, c.truncated), (Self.discards, c.discards)] {
            w.family(family)
            w.sample(family, .empty, .empty, Double(value))
        }
    }
}

extension SourcePosition {
    /// The journal's position in the store: every journaled batch up to `sequence` is applied.
    static func journal(through sequence: UInt64) -> SourcePosition {
        .sequence(source: "journal", name: journalPath, through: sequence)
    }

    static let journalPath = "journal:"

    var isJournal: Bool { !isFile && !isStream && path == Self.journalPath }
}
