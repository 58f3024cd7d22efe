import Clocks
import Events
import Foundation
import Logging

/// Writes one log line per alert; never fails. By default each alert is a message through
/// swift-log, so the exporter's `--log.level` and `--log.format` apply to it as to its other lines;
/// given a sink, it writes logfmt lines there instead (the same text the exporter's handler writes).
public struct LogReceiver: AlertReceiver {
    public let name: String
    private let now: @Sendable () -> Double
    private let sink: (@Sendable (String) -> Void)?
    private let logger: Logger?

    /// `sink` takes each line without its newline, and `now` gives Unix seconds for its `ts`;
    /// without a sink, lines go to `logger`, by default a swift-log logger made at delivery (so it
    /// has the handler swift-log was bootstrapped with, which stamps the lines).
    public init(
        name: String = "log", now: @escaping @Sendable () -> Double = { WallClock().now() },
        sink: (@Sendable (String) -> Void)? = nil, logger: Logger? = nil
    ) {
        self.name = name
        self.now = now
        self.sink = sink
        self.logger = logger
    }

    public func deliver(_ batch: [AlertNotification]) throws(DeliveryError) {
        if let sink {
            let time = now()
            for notification in batch { sink(Self.line(for: notification, at: time)) }
            return
        }
        let logger = logger ?? Logger(label: "progress-exporter.alerts")
        for notification in batch {
            let entry = Self.entry(for: notification)
            var metadata: Logger.Metadata = [:]
            for (key, value) in entry.fields { metadata[key] = .string(value) }
            logger.log(level: entry.firing ? .warning : .info, "\(entry.message)", metadata: metadata)
        }
    }

    /// What one alert's line says: firing alerts are warnings, resolved ones info; the labels an
    /// alert lacks (agent, for job alerts) are left out.
    static func entry(for notification: AlertNotification) -> (firing: Bool, message: String, fields: [(key: String, value: String)]) {
        let firing = notification.status == .firing
        var fields: [(key: String, value: String)] = []
        for name in ["alertname", AlertLabels.job, AlertLabels.agent, "severity"] {
            if let value = notification.labels[name] { fields.append((name, value)) }
        }
        if let summary = notification.annotations["summary"] { fields.append(("summary", summary)) }
        return (firing, firing ? "alert firing" : "alert resolved", fields.sorted { $0.key < $1.key })
    }

    /// `ts=... level=warn msg="alert firing" agent=... alertname=... job_name=... severity=... summary=...`:
    /// the fields sorted by name, as the exporter's log handler writes them, and quoted by the same
    /// logfmt writer.
    static func line(for notification: AlertNotification, at time: Double) -> String {
        let entry = entry(for: notification)
        let head: [(key: String, value: String)] = [("ts", Logfmt.timestamp(time)), ("level", entry.firing ? "warn" : "info"), ("msg", entry.message)]
        return Logfmt.line(head + entry.fields)
    }
}
