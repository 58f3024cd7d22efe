import Clocks
import Events
import Foundation
import Logging
import Synchronization

/// `--log.format`: how log lines are written on standard error.
public enum LogFormat: String, Sendable, CaseIterable {
    /// `ts=... level=info msg=... key=value`, quoted as go-logfmt quotes (Prometheus's default).
    case logfmt
    /// One JSON object per line: `{"level":"info","msg":"...","ts":"...",...}`.
    case json
}

/// `--log.level`: the least severe level written; the names Prometheus's tools use.
public enum LogLevel: String, Sendable, CaseIterable {
    case debug, info, warn, error

    /// The swift-log level this names.
    public var swiftLogLevel: Logger.Level {
        switch self {
        case .debug: .debug
        case .info: .info
        case .warn: .warning
        case .error: .error
        }
    }

    /// The name written in `level=` for a swift-log level: its nearest Prometheus level.
    public static func name(of level: Logger.Level) -> String {
        switch level {
        case .trace, .debug: "debug"
        case .info, .notice: "info"
        case .warning: "warn"
        case .error, .critical: "error"
        }
    }
}

/// The exporter's swift-log handler: one line per message on standard error (or another sink), in
/// logfmt or JSON, with `ts` (RFC 3339, UTC, milliseconds), `level`, `msg`, then the metadata.
public struct ExporterLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public let format: LogFormat
    private let now: @Sendable () -> Double
    private let sink: @Sendable (String) -> Void

    /// `now` gives Unix seconds for `ts`; `sink` takes each line without its newline.
    public init(
        level: Logger.Level = .info, format: LogFormat = .logfmt,
        now: @escaping @Sendable () -> Double = { WallClock().now() },
        sink: @escaping @Sendable (String) -> Void = ExporterLogHandler.standardError
    ) {
        self.logLevel = level
        self.format = format
        self.now = now
        self.sink = sink
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var metadata = event.metadata
        if let error = event.error, metadata?["err"] == nil { metadata = (metadata ?? [:]).merging(["err": "\(error)"]) { old, _ in old } }
        sink(line(level: event.level, message: event.message.description, metadata: metadata))
    }

    /// The text of one line, without its newline: `ts`, `level`, `msg`, then the metadata sorted by
    /// key (the call's over the handler's when both have a key).
    func line(level: Logger.Level, message: String, metadata callMetadata: Logger.Metadata?) -> String {
        var fields: [(key: String, value: String)] = [("ts", Logfmt.timestamp(now())), ("level", LogLevel.name(of: level)), ("msg", message)]
        let merged = metadata.merging(callMetadata ?? [:]) { _, call in call }
        for (key, value) in merged.sorted(by: { $0.key < $1.key }) { fields.append((key, "\(value)")) }
        switch format {
        case .logfmt:
            return Logfmt.line(fields)
        case .json:
            var object: [String: String] = [:]
            for field in fields where object[field.key] == nil { object[field.key] = field.value }
            let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
            return String(decoding: data, as: UTF8.self)
        }
    }

    /// The default sink: one write per line, so lines from several threads do not interleave.
    public static let standardError: @Sendable (String) -> Void = { line in
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}

/// The exporter's log calls, through swift-log. `configure` (once, at start) sets level and format
/// and bootstraps swift-log with the same handler; before it, lines are logfmt at level info.
public enum Log {
    private static let logger = Mutex(Logger(label: "progress-exporter") { _ in ExporterLogHandler() })

    /// Sets `--log.level` and `--log.format` for every later line, and makes the same handler
    /// swift-log's (for libraries' loggers too). Call once per process.
    public static func configure(level: LogLevel, format: LogFormat) {
        let made: @Sendable (String) -> any LogHandler = { _ in ExporterLogHandler(level: level.swiftLogLevel, format: format) }
        LoggingSystem.bootstrap(made)
        logger.withLock { $0 = Logger(label: "progress-exporter", factory: made) }
    }

    /// The logger the wrapper writes through.
    public static var current: Logger { logger.withLock { $0 } }

    public static func debug(_ message: String, _ fields: KeyValuePairs<String, String> = [:]) { write(.debug, message, fields) }
    public static func info(_ message: String, _ fields: KeyValuePairs<String, String> = [:]) { write(.info, message, fields) }
    public static func warn(_ message: String, _ fields: KeyValuePairs<String, String> = [:]) { write(.warning, message, fields) }
    public static func error(_ message: String, _ fields: KeyValuePairs<String, String> = [:]) { write(.error, message, fields) }

    private static func write(_ level: Logger.Level, _ message: String, _ fields: KeyValuePairs<String, String>) {
        var metadata: Logger.Metadata = [:]
        for (key, value) in fields { metadata[key] = .string(value) }
        current.log(level: level, "\(message)", metadata: metadata.isEmpty ? nil : metadata)
    }
}
