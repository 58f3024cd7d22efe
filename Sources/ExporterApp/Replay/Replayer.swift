import Clocks
import Events
import Foundation
import Tracking

/// Replays recorded event logs through an `Ingestor` (the one way into a store), with a
/// `ReplayClock` that follows event time: before each batch is applied, the clock moves to the
/// batch's newest event time. As fast as possible (`speed` 0), or paced so that event time passes
/// at `speed` times real time.
///
/// A batch is handed to the ingestor as the raw lines the file follower would hand it, so decoding,
/// rejections, de-duplication and the shard filter are the live ones; the lines are decoded once more
/// beforehand, only to learn their event times.
public final class Replayer {
    public let ingestor: Ingestor
    public let clock: ReplayClock
    public let format: ExporterOptions.EventFormat
    /// Event seconds per real second; 0: as fast as possible.
    public let speed: Double
    /// How pacing waits (tests pass one that records instead of sleeping).
    public var sleep: (Double) -> Void = { Thread.sleep(forTimeInterval: $0) }
    /// Real time, for pacing only (monotonic: a clock step does not stall or rush it); the store never reads it.
    public var realTime: () -> Double = { MonotonicClock().now() }
    /// Lines per batch at most.
    public var batchLines = 4096
    /// Progress ratios at which each job's ETC is recorded for its history.
    public static let historyMarks: [Double] = [0.1, 0.25, 0.5, 0.75, 0.9]
    /// The source label of replayed events (`progress_exporter_events_received_total{source="replay"}`).
    public static let source = "replay"

    /// An event time further ahead of the real clock than this is bogus (the live exporter takes
    /// such a time as the arrival time): it does not move the replay clock.
    private let ceiling: Double

    /// `wallClock` bounds how far ahead of today an event time may be.
    public init(
        ingestor: Ingestor, clock: ReplayClock, format: ExporterOptions.EventFormat = .native, speed: Double = 0,
        wallClock: any TimeSource = WallClock()
    ) {
        self.ingestor = ingestor
        self.clock = clock
        self.format = format
        self.speed = speed
        ceiling = wallClock.now() + StoreOptions().maxFutureSkew
    }

    /// Where the replay stands, reported after every batch.
    public struct Progress: Sendable {
        public var file: String
        public var bytesRead: Int
        public var totalBytes: Int
        public var events: Int
        public var rejected: Int
        /// The replay clock: the newest event time applied.
        public var eventTime: Double
        public var ratio: Double { totalBytes > 0 ? min(1, Double(bytesRead) / Double(totalBytes)) : 1 }
    }

    private var accepted = 0
    private var rejected = 0
    private var ignored = 0
    private var batches = 0
    private var firstEventTime: Double?
    private var pacingStart: (event: Double, real: Double)?
    private var sequenceSeen: UInt64 = 0
    private var history: [String: [ETCPoint]] = [:]

    /// Replays the files one after the other, in the order given, and returns each job's final summary.
    public func run(files: [String], progress: (Progress) -> Void = { _ in }) throws(LogFile.Failure) -> ReplayResult {
        let logs = try files.map { path throws(LogFile.Failure) in try LogFile(path: path) }
        let totalBytes = logs.reduce(0) { $0 + $1.size }
        var doneBytes = 0
        let started = realTime()
        for log in logs {
            let run = Exporter.prodigyRun(of: log.path)
            let native = NativeEventDecoder(limits: ingestor.limits)
            let prodigy = ProdigyEventDecoder(limits: ingestor.limits)
            var before = log.consumed
            while let chunk = try log.nextLines() {
                let after = log.consumed
                replay(chunk: chunk, log: log, run: run, native: native, prodigy: prodigy) { upTo in
                    // Where in the file the batch ends, interpolated within the chunk (compressed
                    // bytes, for gzip).
                    let read = before + Int(Double(after - before) * Double(upTo) / Double(max(chunk.count, 1)))
                    progress(Progress(file: log.path, bytesRead: doneBytes + read, totalBytes: totalBytes,
                                      events: accepted, rejected: rejected, eventTime: clock.now()))
                }
                before = after
            }
            doneBytes += log.size
        }
        return result(files: files, realSeconds: realTime() - started)
    }

    /// Splits a chunk of complete lines into batches and applies each. A batch holds at most
    /// `batchLines` lines and one second of event time (when paced, at most a tenth of a real second
    /// of it), so the store sees time pass about as the live exporter did.
    private func replay(
        chunk: [UInt8], log: LogFile, run: String, native: NativeEventDecoder, prodigy: ProdigyEventDecoder,
        applied: (_ upTo: Int) -> Void
    ) {
        let step = speed > 0 ? min(1, 0.1 * speed) : 1
        var batchStart = 0
        var lines = 0
        var batchFirst: Double?
        var batchNewest: Double?
        var flushes: [(Range<Int>, Double?, Double?)] = []
        chunk.withUnsafeBytes { bytes in
            guard let base = bytes.baseAddress else { return }
            var start = 0
            while start < bytes.count {
                let newline = memchr(base + start, Int32(UInt8(ascii: "\n")), bytes.count - start)
                let next = newline.map { UnsafeRawPointer($0) - base } ?? bytes.count
                var end = next
                if end > start, bytes[end - 1] == UInt8(ascii: "\r") { end -= 1 }
                let time = end > start ? eventTime(UnsafeRawBufferPointer(start: base + start, count: end - start),
                                                   capacity: bytes.count - start, run: run, native: native, prodigy: prodigy) : nil
                let wide = time.map { time in batchFirst.map { time - $0 > step } ?? false } ?? false
                if lines >= batchLines || wide {
                    flushes.append((batchStart..<start, batchFirst, batchNewest))
                    batchStart = start
                    lines = 0
                    batchFirst = nil
                    batchNewest = nil
                }
                lines += 1
                if let time {
                    batchFirst = min(batchFirst ?? time, time)
                    batchNewest = max(batchNewest ?? time, time)
                }
                start = next + 1
            }
            if batchStart < bytes.count { flushes.append((batchStart..<bytes.count, batchFirst, batchNewest)) }
        }
        for (range, oldest, newest) in flushes {
            apply(Array(chunk[range]), oldest: oldest, newest: newest, log: log, run: run)
            applied(range.upperBound)
        }
    }

    /// The event time of one line, when it has a usable one.
    private func eventTime(
        _ line: UnsafeRawBufferPointer, capacity: Int, run: String, native: NativeEventDecoder, prodigy: ProdigyEventDecoder
    ) -> Double? {
        let event: Event?
        switch format {
        case .native:
            if case .success(let decoded) = native.decode(line: line, readableCapacity: capacity) { event = decoded } else { event = nil }
        case .prodigy:
            if case .event(let decoded) = prodigy.decode(line: line, readableCapacity: capacity, job: run) { event = decoded } else { event = nil }
        }
        guard let time = event?.time, time.isFinite, time <= ceiling else { return nil }
        return time
    }

    private func apply(_ lines: [UInt8], oldest: Double?, newest: Double?, log: LogFile, run: String) {
        if let oldest { firstEventTime = min(firstEventTime ?? oldest, oldest) }
        if let newest {
            clock.advance(to: newest)
        } else if clock.now() == 0 {
            // Events without a time before any with one: the log's last write is the best guess.
            let modified = (try? FileManager.default.attributesOfItem(atPath: log.path)[.modificationDate] as? Date)?.timeIntervalSince1970
            clock.advance(to: modified ?? 0)
        }
        pace()
        let outcome: Ingestor.Outcome
        switch format {
        case .native: outcome = ingestor.ingestNative(lines, source: Self.source)
        case .prodigy: outcome = ingestor.ingestProdigy(lines, run: run, source: Self.source)
        }
        accepted += outcome.accepted
        rejected += outcome.rejected
        ignored += outcome.ignored
        batches += 1
        recordHistory()
    }

    /// Waits until real time has caught up with the batch's event time at `speed`.
    private func pace() {
        guard speed > 0 else { return }
        let now = clock.now()
        // Real time starts with the log's oldest event time.
        let start = pacingStart ?? (firstEventTime ?? now, realTime())
        pacingStart = start
        let wait = start.real + (now - start.event) / speed - realTime()
        if wait > 0 { sleep(wait) }
    }

    /// The ETC each job showed when its progress first passed each of `historyMarks`.
    private func recordHistory() {
        let changes = ingestor.store.jobChanges(after: FeedCursor(since: sequenceSeen), limit: .max)
        sequenceSeen = changes.sequence
        for job in changes.items {
            guard let ratio = job.progressRatio else { continue }
            var points = history[job.job] ?? []
            let next = Self.historyMarks.dropFirst(points.count)
            guard let mark = next.first, ratio >= mark else { continue }
            // A batch that jumps over several marks records the same estimate for each.
            for mark in next where ratio >= mark {
                points.append(ETCPoint(mark: mark, progressRatio: ratio, eventTime: clock.now(),
                                       etaSeconds: job.etaSeconds, estimatedCompletion: job.estimatedCompletion))
            }
            history[job.job] = points
        }
    }

    private func result(files: [String], realSeconds: Double) -> ReplayResult {
        let jobs = ingestor.store.jobSummaries().map { job in
            ReplayedJob(job, history: history[job.job] ?? [])
        }
        return ReplayResult(
            files: files, accepted: accepted, rejected: rejected, ignored: ignored, batches: batches,
            firstEventTime: firstEventTime, endTime: clock.now(), realSeconds: realSeconds, jobs: jobs)
    }
}

/// The ETC a job showed when its progress first reached `mark`.
public struct ETCPoint: Sendable, Equatable, Codable {
    public var mark: Double
    public var progressRatio: Double
    public var eventTime: Double
    public var etaSeconds: Double?
    public var estimatedCompletion: Double?

    enum CodingKeys: String, CodingKey {
        case mark
        case progressRatio = "progress_ratio"
        case eventTime = "event_timestamp"
        case etaSeconds = "eta_seconds"
        case estimatedCompletion = "estimated_completion_timestamp"
    }
}

/// One job at the end of a replay: the API's `JobSummary` of it (the same fields, by the same
/// names, as /api/v1/jobs), its mean throughput over the log, and what its ETC said on the way.
@dynamicMemberLookup
public struct ReplayedJob: Sendable, Equatable, Codable {
    public var summary: JobSummary
    public var etcHistory: [ETCPoint]

    public init(_ summary: JobSummary, history: [ETCPoint]) {
        self.summary = summary
        etcHistory = history
    }

    public subscript<Value>(dynamicMember path: KeyPath<JobSummary, Value>) -> Value { summary[keyPath: path] }

    /// First to newest event.
    public var durationSeconds: Double { max(0, summary.lastEventTime - summary.startTime) }
    /// Finished items per second over the whole duration (`throughput` is the API's, over the last minute).
    public var meanThroughput: Double { durationSeconds > 0 ? Double(summary.finished) / durationSeconds : 0 }

    enum CodingKeys: String, CodingKey {
        case durationSeconds = "duration_seconds"
        case meanThroughput = "mean_throughput"
        case etcHistory = "etc_history"
    }

    /// The summary's fields, then these three beside them in the same object.
    public func encode(to encoder: Encoder) throws {
        try summary.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(durationSeconds, forKey: .durationSeconds)
        try c.encode(meanThroughput, forKey: .meanThroughput)
        try c.encode(etcHistory, forKey: .etcHistory)
    }

    public init(from decoder: Decoder) throws {
        summary = try JobSummary(from: decoder)
        etcHistory = try decoder.container(keyedBy: CodingKeys.self).decodeIfPresent([ETCPoint].self, forKey: .etcHistory) ?? []
    }
}

/// What a replay did, and every job at its end.
public struct ReplayResult: Sendable, Equatable, Codable {
    public var files: [String]
    public var accepted: Int
    public var rejected: Int
    public var ignored: Int
    public var batches: Int
    public var firstEventTime: Double?
    /// The replay clock at the end: the newest event time.
    public var endTime: Double
    public var realSeconds: Double
    public var jobs: [ReplayedJob]

    enum CodingKeys: String, CodingKey {
        case files, accepted, rejected, ignored, batches, jobs
        case firstEventTime = "first_event_timestamp"
        case endTime = "end_timestamp"
        case realSeconds = "real_seconds"
    }
}
