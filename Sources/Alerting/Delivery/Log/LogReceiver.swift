import Events
import Foundation

/// Writes one logfmt line per alert, on standard error unless given another sink; never fails.
public struct LogReceiver: AlertReceiver {
    public let name: String
    private let now: @Sendable () -> Double
    private let sink: @Sendable (String) -> Void

    /// `now` gives Unix seconds for `ts`; `sink` takes each line without its newline.
    public init(
        name: String = "log", now: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 },
        sink: @escaping @Sendable (String) -> Void = LogReceiver.standardError
    ) {
        self.name = name
        self.now = now
        self.sink = sink
    }

    public func deliver(_ batch: [AlertNotification]) throws(DeliveryError) {
        let time = now()
        for notification in batch { sink(Self.line(for: notification, at: time)) }
    }

    /// `ts=... level=warn msg="alert firing" alertname=... job_name=... agent=... severity=... summary=...`;
    /// labels an alert lacks (agent, for job alerts) are left out.
    static func line(for notification: AlertNotification, at time: Double) -> String {
        let firing = notification.status == .firing
        var line = "ts=\(Logfmt.timestamp(time)) level=\(firing ? "warn" : "info")"
        line += " msg=\(quoted(firing ? "alert firing" : "alert resolved"))"
        for name in ["alertname", AlertLabels.job, AlertLabels.agent, "severity"] {
            if let value = notification.labels[name] { line += " \(name)=\(quoted(value))" }
        }
        if let summary = notification.annotations["summary"] { line += " summary=\(quoted(summary))" }
        return line
    }

    /// Values are quoted by the exporter's one logfmt writer, as its own log lines are.
    private static func quoted(_ value: String) -> String { Logfmt.value(value) }

    /// The default sink: one write per line, so lines from several threads do not interleave.
    public static let standardError: @Sendable (String) -> Void = { line in
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}
