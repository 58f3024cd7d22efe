import EventSources
import Events
import Exposition
import MicroHTTP
import Synchronization
import Tracking

/// A part of the exporter that reports on itself at /metrics (`progress_exporter_*`). The exporter
/// keeps one list of them; a scrape asks each in turn.
protocol SelfMetricsCollector: Sendable {
    func collect(into writer: inout ExpositionWriter)
}

extension AlertingService: SelfMetricsCollector {}

/// The followed files' and standard input's own counters: bytes and lines read, rotations,
/// truncations, read errors, offsets-file errors (an unwritable offsets file shows here).
struct EventSourceMetrics: SelfMetricsCollector {
    let tailer: FileTailer?
    let stdinReader: StandardInputReader?
    /// `--events.sse-url` streams: their bytes and lines are summed under `source="sse"`.
    var streams: [Exporter.EventStream] = []

    static let bytes = MetricFamily("progress_exporter_source_bytes_read_total", .counter, help: "Bytes read by an event source, skipped over-long lines included.")
    static let lines = MetricFamily("progress_exporter_source_lines_total", .counter, help: "Complete lines an event source delivered.")
    static let rotations = MetricFamily("progress_exporter_source_file_rotations_total", .counter, help: "Followed files replaced by a new file at the same path.")
    static let unrecoverable = MetricFamily("progress_exporter_source_file_unrecoverable_total", .counter, help: "Followed files whose unread lines could not be found at start (moved out of their folder, deleted, or rewritten in place while the exporter was down); each is logged.")
    static let truncations = MetricFamily("progress_exporter_source_file_truncations_total", .counter, help: "Followed files that shrank or were rewritten, so reading restarted at their start.")
    static let readErrors = MetricFamily("progress_exporter_source_read_errors_total", .counter, help: "Failed reads of an event source; a file is reopened on the next poll.")
    static let partialLines = MetricFamily("progress_exporter_source_partial_lines_dropped_total", .counter, help: "Unterminated last lines dropped because their file was rotated away or truncated.")
    static let offsetsErrors = MetricFamily("progress_exporter_source_offsets_file_errors_total", .counter, help: "Failed loads or saves of --events.offsets-file.")
    static let followed = MetricFamily("progress_exporter_source_followed_files", .gauge, help: "Files followed right now.")
    static let waiting = MetricFamily("progress_exporter_source_file_patterns_waiting", .gauge, help: "--events.file patterns that match no file yet and wait for one to appear (the exporter is ready all the same).")

    static let sseConnects = MetricFamily("progress_exporter_sse_connects_total", .counter, help: "Connections to an --events.sse-url stream that were answered 200 with text/event-stream.")
    static let sseDisconnects = MetricFamily("progress_exporter_sse_disconnects_total", .counter, help: "Such connections that ended: closed by the server, broken, or silent past the read timeout.")
    static let sseReconnects = MetricFamily("progress_exporter_sse_reconnect_attempts_total", .counter, help: "Connection attempts to an --events.sse-url stream after the first.")
    static let sseState = MetricFamily("progress_exporter_sse_state", .gauge, help: "1 for the state an --events.sse-url stream is in (connecting, connected, waiting to reconnect), 0 for the others.")

    func collect(into w: inout ExpositionWriter) {
        var all = [tailer?.stats, stdinReader?.stats].compactMap { $0 }
        if !streams.isEmpty {
            var sum = EventSourceStats(source: LineOrigin.serverSentEventsSource)
            for stream in streams {
                let stats = stream.source.stats
                sum.bytesRead += stats.bytesRead
                sum.linesDelivered += stats.linesDelivered
                sum.readErrors += stats.readErrors
                sum.partialLinesDropped += stats.partialLinesDropped
            }
            all.append(sum)
            writeStreams(into: &w)
        }
        guard !all.isEmpty else { return }
        func each(_ family: MetricFamily, _ value: (EventSourceStats) -> Double) {
            w.family(family)
            for stats in all { w.sample(family, LabelSet([("source", stats.source)]), .empty, value(stats)) }
        }
        each(Self.bytes) { Double($0.bytesRead) }
        each(Self.lines) { Double($0.linesDelivered) }
        each(Self.readErrors) { Double($0.readErrors) }
        each(Self.partialLines) { Double($0.partialLinesDropped) }
        guard let file = tailer?.stats else { return }
        for (family, value) in [(Self.rotations, file.rotations), (Self.truncations, file.truncations), (Self.unrecoverable, file.unrecoverableAtStart), (Self.offsetsErrors, file.offsetFileErrors)] {
            w.family(family)
            w.sample(family, .empty, .empty, Double(value))
        }
        w.family(Self.followed)
        w.sample(Self.followed, .empty, .empty, Double(file.followedFiles))
        if let tailer {
            w.family(Self.waiting)
            w.sample(Self.waiting, .empty, .empty, Double(tailer.patternStatuses.filter(\.isWaitingForAFile).count))
        }
    }
}

extension EventSourceMetrics {
    /// Each stream's connection counters and state, labelled with its URL (without credentials or query).
    private func writeStreams(into w: inout ExpositionWriter) {
        let statuses = streams.map { ($0.name, $0.source.status) }
        let counters: [(MetricFamily, (ServerSentEventSource.Status) -> UInt64)] = [
            (Self.sseConnects, \.connects), (Self.sseDisconnects, \.disconnects), (Self.sseReconnects, \.reconnectAttempts),
        ]
        for (family, value) in counters {
            w.family(family)
            for (url, status) in statuses { w.sample(family, LabelSet([("url", url)]), .empty, Double(value(status))) }
        }
        w.family(Self.sseState)
        for (url, status) in statuses {
            for state in [ServerSentEventSource.State.connecting, .connected, .waiting] {
                w.sample(Self.sseState, LabelSet([("url", url), ("state", state.rawValue)]), .empty, status.state == state ? 1 : 0)
            }
        }
    }
}

/// libmicrohttpd's refusals that the server counts.
struct HTTPServerMetrics: SelfMetricsCollector {
    let server: @Sendable () -> HTTPServerCounts

    struct HTTPServerCounts { var oversizedBodies: UInt64 }

    static let oversizedBodies = MetricFamily(
        "progress_exporter_http_oversized_bodies_total", .counter, help: "POST bodies refused with 413 for being over --web.max-body-bytes.")

    func collect(into w: inout ExpositionWriter) {
        w.family(Self.oversizedBodies)
        w.sample(Self.oversizedBodies, .empty, .empty, Double(server().oversizedBodies))
    }
}

/// The HTTP server's limits: open connections, refusals, request timeouts, body budget.
struct HTTPLimitCollector: SelfMetricsCollector {
    let counts: @Sendable () -> HTTPServer.LimitCounts

    func collect(into w: inout ExpositionWriter) {
        HTTPLimitMetrics.write(counts(), into: &w)
    }
}

/// Jobs forgotten as soon as they arrived, because they had ended longer than `--jobs.retention`
/// ago, or had no event for longer than `--jobs.silent-retention` (an old log read late): each is
/// logged once, when it is forgotten, and counted.
final class ForgottenJobs: SelfMetricsCollector {
    private let count = Atomic<UInt64>(0)

    static let family = MetricFamily(
        "progress_exporter_jobs_forgotten_on_arrival_total", .counter,
        help: "Jobs forgotten at once because they had ended longer than --jobs.retention ago, or their newest event was older than --jobs.silent-retention, when their events arrived.")

    var total: UInt64 { count.load(ordering: .relaxed) }

    func record(_ jobs: [ProgressStore.ForgottenOnArrival], retention: Double, silentRetention: Double) {
        guard !jobs.isEmpty else { return }
        count.add(UInt64(jobs.count), ordering: .relaxed)
        for job in jobs where job.silent {
            Log.warn("job forgotten on arrival: its newest event is older than --jobs.silent-retention", [
                "job_name": job.job, "last_event": Logfmt.timestamp(job.endTime), "silent_retention": PromDuration.format(silentRetention),
                "hint": "raise --jobs.silent-retention to keep old jobs from a replayed log",
            ])
        }
        for job in jobs where !job.silent {
            Log.warn("job forgotten on arrival: it ended longer ago than --jobs.retention", [
                "job_name": job.job, "ended": Logfmt.timestamp(job.endTime), "retention": PromDuration.format(retention),
                "hint": "raise --jobs.retention to keep old jobs from a replayed log",
            ])
        }
    }

    func collect(into w: inout ExpositionWriter) {
        w.family(Self.family)
        w.sample(Self.family, .empty, .empty, Double(total))
    }
}
