import Glibc
import HTTPClient
import Synchronization

/// Subscribes to a Server-Sent Events stream (`--events.sse-url`) whose events carry native NDJSON
/// event lines in their `data` fields, on its own thread, through the one HTTP client (libcurl's multi interface).
///
/// Each event's data (its `data` lines joined with LF, so it may hold several event lines) is
/// delivered as lines with `LineOrigin.serverSentEventsSource`, in batches that carry the stream and
/// the last event id received. When the stream ends or breaks it reconnects after a delay (the
/// server's `retry`, else `initialBackoff`, doubling with each failure to `maxBackoff`, plus up to
/// half again at random), sending `Last-Event-ID` so the server resumes after the last event
/// applied; an event cut off by a dropped connection is discarded, never applied in part.
///
/// While it waits it sleeps in `curl_multi_poll` on the connection's socket and the stop pipe, so a
/// slow or hung server costs no CPU; a connection silent for `readTimeout` (no bytes, not even a
/// keep-alive comment) is dropped and made again. `stop()` wakes it at once.
public final class ServerSentEventSource: Sendable {
    public struct Settings: Sendable, CustomStringConvertible, CustomReflectable {
        public var url: String
        /// The `Authorization` header's value (`Bearer <token>`); never logged or shown.
        public var authorization: String?
        /// Longest line of the stream (beyond a field name) and longest event data; longer ones are dropped.
        public var maxLineBytes = 1 << 20
        /// Longer `id` fields are ignored.
        public var maxIDBytes = 1024
        public var initialBackoff = 0.5
        public var maxBackoff = 30.0
        public var connectTimeout = 10.0
        /// Seconds a connection may stay silent before it is dropped and made again.
        public var readTimeout = 120.0
        /// Where to resume: sent as `Last-Event-ID` on the first connection (a position saved elsewhere).
        public var lastEventID: String?

        public init(url: String, authorization: String? = nil) {
            self.url = url
            self.authorization = authorization
        }

        public var description: String { "ServerSentEventSource.Settings(\(ServerSentEventSource.redacted(url)))" }
        /// Without the authorization and the URL's credentials, so `dump` cannot show them either.
        public var customMirror: Mirror {
            Mirror(self, children: ["url": ServerSentEventSource.redacted(url)], displayStyle: .struct)
        }
    }

    public enum State: String, Sendable, CaseIterable {
        case connecting, connected, waiting, stopped
    }

    /// The stream's own counters and state, for self-metrics, readiness and tests.
    public struct Status: Sendable, Equatable {
        public var state = State.connecting
        /// Connections that got `200` with `text/event-stream`.
        public var connects: UInt64 = 0
        /// Such connections that ended (closed by the server, broken, or silent past the read timeout).
        public var disconnects: UInt64 = 0
        /// Connection attempts after the first.
        public var reconnectAttempts: UInt64 = 0
        /// Events dispatched with data.
        public var events: UInt64 = 0
        /// The last event id received (sent as `Last-Event-ID`); nil before any.
        public var lastEventID: String?
        /// Why the last attempt or connection ended.
        public var lastError: String?
        /// Times the thread woke from its wait: stays small for a silent server.
        public var wakeups: UInt64 = 0
    }

    /// What happened to the connection, for the log and readiness.
    public enum Change: Sendable, Equatable {
        case connected(resumingAfter: String?)
        /// An attempt or a connection ended; the next attempt follows in `retryIn` seconds.
        case disconnected(reason: String, wasConnected: Bool, retryIn: Double)
    }

    public let settings: Settings
    /// The URL without user info, query or fragment: safe for logs and labels.
    public let label: String
    private let onLines: LineBatchHandler
    private let onOversizedLine: OversizedLineHandler
    private let onChange: @Sendable (Change) -> Void
    private let lifecycle = SourceLifecycle()
    private let sharedStats = SharedStats(source: LineOrigin.serverSentEventsSource)
    private let sharedStatus = SharedStreamStatus()

    public init(
        settings: Settings, onLines: @escaping LineBatchHandler, onOversizedLine: @escaping OversizedLineHandler,
        onChange: @escaping @Sendable (Change) -> Void = { _ in }
    ) {
        precondition(settings.maxLineBytes > 0, "maxLineBytes must be positive")
        self.settings = settings
        label = Self.redacted(settings.url)
        self.onLines = onLines
        self.onOversizedLine = onOversizedLine
        self.onChange = onChange
        sharedStatus.update { $0.lastEventID = settings.lastEventID }
    }

    deinit {
        lifecycle.stopAndJoin()
    }

    /// Starts the connection thread; later calls do nothing, and a stopped source stays stopped.
    public func start() {
        let settings = settings
        let label = label
        let onLines = onLines
        let onOversizedLine = onOversizedLine
        let onChange = onChange
        let stats = sharedStats
        let status = sharedStatus
        let stop = lifecycle.stop
        lifecycle.start {
            let loop = StreamLoop(
                settings: settings, label: label, onLines: onLines, onOversizedLine: onOversizedLine, onChange: onChange,
                stats: stats, status: status, stop: stop)
            loop.run()
        }
    }

    /// Stops and returns once the thread has ended (a transfer under way is abandoned).
    public func stop() {
        lifecycle.stopAndJoin()
        sharedStatus.update { $0.state = .stopped }
    }

    public var status: Status { sharedStatus.snapshot }

    /// Bytes, lines and dropped events, as the other sources count them.
    public var stats: EventSourceStats { sharedStats.snapshot }

    /// Seconds to wait before the next attempt: the base (the server's `retry`, else the initial
    /// backoff; at least 0.1 s) doubled per failure, capped at `cap`, then stretched by
    /// `jitter` (0..<1) times a half.
    public static func reconnectDelay(failures: Int, base: Double, cap: Double, jitter: Double) -> Double {
        let start = min(cap, max(base, 0.1))
        let doubled = start * Double(1 << min(max(failures, 0), 20))
        return min(cap, doubled) * (1 + 0.5 * min(max(jitter, 0), 1))
    }

    /// `url` without user info, query and fragment, which may carry credentials.
    public static func redacted(_ url: String) -> String { HTTPClient.redacted(url) }
}

