import Clocks
import Events
import Glibc
import HTTPClient
import Synchronization

/// A stream's status, written by its thread and read by scrapes and readiness.
final class SharedStreamStatus: Sendable {
    private let state = Mutex(ServerSentEventSource.Status())

    var snapshot: ServerSentEventSource.Status { state.withLock { $0 } }

    func update(_ body: (inout ServerSentEventSource.Status) -> Void) {
        state.withLock { body(&$0) }
    }
}

/// The connection thread of one `ServerSentEventSource`: connects, reads, reconnects until stopped.
///
/// Made and used on that thread only (not Sendable); the HTTP client calls it back (as the answer's
/// receiver) on the same thread.
final class StreamLoop: HTTPResponseReceiver {
    private let settings: ServerSentEventSource.Settings
    private let label: String
    private let onLines: LineBatchHandler
    private let onOversizedLine: OversizedLineHandler
    private let onChange: @Sendable (ServerSentEventSource.Change) -> Void
    private let stats: SharedStats
    private let status: SharedStreamStatus
    private let stop: StopSignal
    private let client = HTTPClient()

    /// Keeps the last event id and the server's `retry` across connections.
    private var parser: ServerSentEventParser
    // The connection under way.
    private var accepted = false
    private var failure: String?
    /// The connection was cut on a line over the limit: it does not count as a good one.
    private var cutOnOverlongLine = false
    private var contentType = ""
    private var eventsThisConnection = 0

    init(
        settings: ServerSentEventSource.Settings, label: String, onLines: @escaping LineBatchHandler,
        onOversizedLine: @escaping OversizedLineHandler, onChange: @escaping @Sendable (ServerSentEventSource.Change) -> Void,
        stats: SharedStats, status: SharedStreamStatus, stop: StopSignal
    ) {
        self.settings = settings
        self.label = label
        self.onLines = onLines
        self.onOversizedLine = onOversizedLine
        self.onChange = onChange
        self.stats = stats
        self.status = status
        self.stop = stop
        parser = ServerSentEventParser(
            maxLineBytes: settings.maxLineBytes, maxIDBytes: settings.maxIDBytes,
            lastEventID: Array((settings.lastEventID ?? "").utf8))
    }

    /// Connects and reconnects until the stop signal fires.
    func run() {
        var failures = 0
        var attempts = 0
        while !stop.isFired {
            status.update {
                $0.state = .connecting
                if attempts > 0 { $0.reconnectAttempts += 1 }
            }
            attempts += 1
            let started = MonotonicClock.instant
            guard let reason = withExtendedLifetime(self, { connectOnce() }) else { break }
            let wasConnected = accepted
            // A connection that delivered events, or held for a while, was good: the backoff starts over.
            if wasConnected && !cutOnOverlongLine && (eventsThisConnection > 0 || MonotonicClock.instant - started >= .seconds(settings.maxBackoff)) {
                failures = 0
            }
            let base = parser.reconnectionTime.map { Double($0) / 1000 } ?? settings.initialBackoff
            let delay = ServerSentEventSource.reconnectDelay(
                failures: failures, base: base, cap: settings.maxBackoff, jitter: Double.random(in: 0..<1))
            failures += 1
            status.update {
                $0.state = .waiting
                $0.lastError = reason
                if wasConnected { $0.disconnects += 1 }
            }
            onChange(.disconnected(reason: reason, wasConnected: wasConnected, retryIn: delay))
            if stop.sleep(for: .milliseconds(Int64(delay * 1000))) { break }
        }
        status.update { $0.state = .stopped }
    }

    /// One connection, from request to its end; returns why it ended, or nil when stopped.
    private func connectOnce() -> String? {
        accepted = false
        failure = nil
        cutOnOverlongLine = false
        contentType = ""
        eventsThisConnection = 0
        parser.endOfStream()
        defer { parser.endOfStream() }

        var headers = ["Accept: text/event-stream", "Cache-Control: no-cache"]
        if !parser.lastEventID.isEmpty {
            // As the standard says: the id's UTF-8 (bytes that are not UTF-8 become U+FFFD); it holds no CR, LF or NUL.
            headers.append("Last-Event-ID: " + String(decoding: parser.lastEventID, as: UTF8.self))
        }
        if let authorization = settings.authorization { headers.append("Authorization: " + authorization) }
        var request = HTTPClientRequest(.get, url: settings.url, headers: headers, timeout: nil)
        request.connectTimeout = settings.connectTimeout
        // A connection silent for the read timeout (not even a keep-alive comment) is dropped and made again.
        request.idleTimeout = settings.readTimeout
        request.tcpKeepAlive = true
        let stop = stop
        let status = status
        let end = client.perform(
            [(request, self)], stopDescriptor: stop.descriptor, shouldStop: { stop.isFired },
            onWake: { status.update { $0.wakeups += 1 } })[0]
        if stop.isFired { return nil }
        if let failure { return failure }
        switch end {
        case .completed: return accepted ? "the server ended the stream" : "the server sent no stream"
        case .idle:
            return accepted
                ? "no bytes for \(settings.readTimeout) s (not even a keep-alive comment)"
                : "no answer within \(settings.readTimeout) s"
        case .cancelled: return nil
        default: return end.reason
        }
    }

    /// One header line of the answer; at its end, the status and content type decide whether to read on.
    func headerLine(_ line: UnsafeRawBufferPointer, status code: Int) -> Bool {
        let text = String(decoding: line.prefix(8192), as: UTF8.self)
        let trimmed = text.trimmingWhitespace()
        if trimmed.hasPrefix("HTTP/") {
            contentType = ""
            return true
        }
        if let colon = trimmed.firstIndex(of: ":"), trimmed[..<colon].lowercased() == "content-type" {
            contentType = String(trimmed[trimmed.index(after: colon)...]).trimmingWhitespace().lowercased()
            return true
        }
        guard trimmed.isEmpty else { return true }
        if (100..<200).contains(code) { return true }
        guard code == 200 else {
            failure = "HTTP status \(code), not 200"
            return false
        }
        let mediaType = contentType.split(separator: ";", maxSplits: 1).first.map { String($0).trimmingWhitespace() } ?? ""
        guard mediaType == "text/event-stream" else {
            failure = "content type \"\(contentType.prefix(100))\", not text/event-stream"
            return false
        }
        accepted = true
        let resumingAfter = parser.lastEventID.isEmpty ? nil : String(decoding: parser.lastEventID, as: UTF8.self)
        status.update {
            $0.state = .connected
            $0.connects += 1
        }
        onChange(.connected(resumingAfter: resumingAfter))
        return true
    }

    /// Bytes of the stream: parsed, and the events they complete delivered as one batch.
    func body(_ raw: UnsafeRawBufferPointer) -> Bool {
        guard accepted else { return false }
        let bytes = raw.assumingMemoryBound(to: UInt8.self)
        var lines: [UInt8] = []
        var lineCount = 0
        var events = 0
        var oversized: [Int] = []
        parser.feed(bytes) { dispatch in
            switch dispatch {
            case .event(let event):
                lines.append(contentsOf: event.data)
                lines.append(0x0A)
                lineCount += 1 + event.data.reduce(0) { $1 == 0x0A ? $0 + 1 : $0 }
                events += 1
            case .oversized(let length):
                oversized.append(length)
            }
        }
        eventsThisConnection += events
        let lastEventID = parser.lastEventID.isEmpty ? nil : String(decoding: parser.lastEventID, as: UTF8.self)
        var origin = LineOrigin(source: LineOrigin.serverSentEventsSource)
        origin.position = lastEventID.map { SourcePosition.stream(source: LineOrigin.serverSentEventsSource, url: label, eventID: $0) }
        if !lines.isEmpty { onLines(lines, origin) }
        for length in oversized { onOversizedLine(origin, length) }
        stats.update {
            $0.bytesRead += UInt64(bytes.count)
            $0.linesDelivered += UInt64(lineCount)
            $0.oversizedLines += UInt64(oversized.count)
            if !lines.isEmpty { $0.batchesDelivered += 1 }
        }
        status.update {
            $0.events += UInt64(events)
            $0.lastEventID = lastEventID
        }
        // A line far past the limit that has not ended: a stream that never ends a line would be read
        // (and thrown away) at network speed forever. Past 4x the limit it is cut, counted, and
        // retried with backoff; a line a little over the limit is skipped and the stream goes on.
        if parser.overlongLineBytes > settings.maxLineBytes * 4 {
            cutOnOverlongLine = true
            failure = "a line longer than \(settings.maxLineBytes * 4) bytes: the connection was cut and is retried with backoff"
            onOversizedLine(origin, settings.maxLineBytes)
            stats.update { $0.oversizedLines += 1 }
            return false
        }
        return !stop.isFired
    }
}
