import CCurl
import Glibc
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
/// Made and used on that thread only (not Sendable); libcurl's callbacks, which run inside
/// `curl_multi_perform` on the same thread, reach it through an unretained pointer while `run()`
/// holds it.
final class StreamLoop {
    private let settings: ServerSentEventSource.Settings
    private let label: String
    private let onLines: LineBatchHandler
    private let onOversizedLine: OversizedLineHandler
    private let onChange: @Sendable (ServerSentEventSource.Change) -> Void
    private let stats: SharedStats
    private let status: SharedStreamStatus
    private let stop: StopSignal
    private let clock = ContinuousClock()

    /// Keeps the last event id and the server's `retry` across connections.
    private var parser: ServerSentEventParser
    // The connection under way.
    private var easy: UnsafeMutableRawPointer?
    private var accepted = false
    private var failure: String?
    /// The connection was cut on a line over the limit: it does not count as a good one.
    private var cutOnOverlongLine = false
    private var contentType = ""
    private var lastActivity = ContinuousClock.now
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
            let started = clock.now
            guard let reason = withExtendedLifetime(self, { connectOnce() }) else { break }
            let wasConnected = accepted
            // A connection that delivered events, or held for a while, was good: the backoff starts over.
            if wasConnected && !cutOnOverlongLine && (eventsThisConnection > 0 || clock.now - started >= .seconds(settings.maxBackoff)) {
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
        lastActivity = clock.now
        parser.endOfStream()
        defer { parser.endOfStream() }

        guard let multi = curl_multi_init() else { return "libcurl could not start a transfer" }
        defer { curl_multi_cleanup(multi) }
        guard let easy = curl_easy_init() else { return "libcurl could not start a transfer" }
        self.easy = easy
        var headers: UnsafeMutablePointer<curl_slist>?
        defer {
            self.easy = nil
            curl_easy_cleanup(easy)
            curl_slist_free_all(headers)
        }
        var lines = ["Accept: text/event-stream", "Cache-Control: no-cache"]
        if !parser.lastEventID.isEmpty {
            // As the standard says: the id's UTF-8 (bytes that are not UTF-8 become U+FFFD); it holds no CR, LF or NUL.
            lines.append("Last-Event-ID: " + String(decoding: parser.lastEventID, as: UTF8.self))
        }
        if let authorization = settings.authorization { lines.append("Authorization: " + authorization) }
        for line in lines { headers = curl_slist_append(headers, line) }

        let context = Unmanaged.passUnretained(self).toOpaque()
        var code = pe_curl_setopt_string(easy, CURLOPT_URL, settings.url)
        let options: [(CURLoption, Int)] = [
            // No signals from libcurl's resolver or timeouts: this is a multi-threaded process.
            (CURLOPT_NOSIGNAL, 1),
            (CURLOPT_CONNECTTIMEOUT_MS, max(1, Int(settings.connectTimeout * 1000))),
            (CURLOPT_FOLLOWLOCATION, 0),
            (CURLOPT_TCP_KEEPALIVE, 1),
        ]
        for (option, value) in options where code == CURLE_OK { code = pe_curl_setopt_long(easy, option, value) }
        if code == CURLE_OK { code = pe_curl_setopt_string(easy, CURLOPT_PROTOCOLS_STR, "http,https") }
        if code == CURLE_OK { code = pe_curl_setopt_string(easy, CURLOPT_USERAGENT, "progress-exporter") }
        if code == CURLE_OK { code = pe_curl_setopt_headers(easy, headers) }
        if code == CURLE_OK { code = pe_curl_set_write_callback(easy, Self.bodyCallback, context) }
        if code == CURLE_OK { code = pe_curl_set_header_callback(easy, Self.headerCallback, context) }
        guard code == CURLE_OK else { return "libcurl refused the request: " + String(cString: curl_easy_strerror(code)) }

        curl_multi_add_handle(multi, easy)
        defer { curl_multi_remove_handle(multi, easy) }
        var running: Int32 = 1
        var result: CURLcode?
        let readTimeout = Duration.milliseconds(Int64(settings.readTimeout * 1000))
        while true {
            curl_multi_perform(multi, &running)
            var left: Int32 = 0
            while let message = curl_multi_info_read(multi, &left) {
                if message.pointee.msg == CURLMSG_DONE { result = pe_curl_message_result(message) }
            }
            if stop.isFired { return nil }
            if result != nil || running == 0 { break }
            let silent = clock.now - lastActivity
            if silent >= readTimeout {
                return accepted
                    ? "no bytes for \(settings.readTimeout) s (not even a keep-alive comment)"
                    : "no answer within \(settings.readTimeout) s"
            }
            // Sleeps until the socket is ready, libcurl's next timer, stop() (the stop pipe) or the
            // read timeout; one second at most.
            var extra = curl_waitfd(fd: stop.descriptor, events: Int16(CURL_WAIT_POLLIN), revents: 0)
            let remaining = readTimeout - silent
            let milliseconds = min(1000, max(1, Int32(clamping: remaining.components.seconds * 1000 + remaining.components.attoseconds / 1_000_000_000_000_000)))
            curl_multi_poll(multi, &extra, 1, milliseconds, nil)
            status.update { $0.wakeups += 1 }
        }
        if let failure { return failure }
        let outcome = result ?? CURLE_OK
        if outcome == CURLE_OK { return accepted ? "the server ended the stream" : "the server sent no stream" }
        return String(cString: curl_easy_strerror(outcome))
    }

    private static let bodyCallback: pe_curl_data_callback = { data, size, count, context in
        let loop = Unmanaged<StreamLoop>.fromOpaque(context!).takeUnretainedValue()
        let total = size * count
        guard let data, total > 0 else { return total }
        let bytes = UnsafeBufferPointer(start: UnsafeRawPointer(data).assumingMemoryBound(to: UInt8.self), count: total)
        // Returning less than `total` makes libcurl end the transfer.
        return loop.receive(bytes) ? total : 0
    }

    private static let headerCallback: pe_curl_data_callback = { data, size, count, context in
        let loop = Unmanaged<StreamLoop>.fromOpaque(context!).takeUnretainedValue()
        let total = size * count
        guard let data else { return total }
        let bytes = UnsafeBufferPointer(start: UnsafeRawPointer(data).assumingMemoryBound(to: UInt8.self), count: total)
        return loop.header(bytes) ? total : 0
    }

    /// One header line of the answer; at its end, the status and content type decide whether to read on.
    private func header(_ line: UnsafeBufferPointer<UInt8>) -> Bool {
        lastActivity = clock.now
        let text = String(decoding: line, as: UTF8.self)
        let trimmed = text.trimmingWhitespace()
        if trimmed.hasPrefix("HTTP/") {
            contentType = ""
            return true
        }
        if let colon = trimmed.firstIndex(of: ":"), trimmed[..<colon].lowercased() == "content-type" {
            contentType = String(trimmed[trimmed.index(after: colon)...]).trimmingWhitespace().lowercased()
            return true
        }
        guard trimmed.isEmpty, let easy else { return true }
        let code = pe_curl_response_code(easy)
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
    private func receive(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard accepted else { return false }
        lastActivity = clock.now
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
        origin.stream = label
        origin.lastEventID = lastEventID
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

extension StringProtocol {
    /// Without leading and trailing spaces, tabs, CR and LF.
    func trimmingWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" || $0 == "\r\n" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[first...last])
    }
}
