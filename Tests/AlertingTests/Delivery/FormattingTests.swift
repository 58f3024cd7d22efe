import Events
import Foundation
import Synchronization
import Testing
@testable import Alerting

extension DeliveryTests {
    @Suite struct Formatting {
        @Test(arguments: [
            (0.0, "1970-01-01T00:00:00.000Z"),
            (1_700_000_000.123, "2023-11-14T22:13:20.123Z"),
            (951_782_400, "2000-02-29T00:00:00.000Z"),
            (-1.5, "1969-12-31T23:59:58.500Z"),
            (1_800_000_000.9996, "2027-01-15T08:00:01.000Z"),
        ])
        func rfc3339WithMillisecondsInUTC(seconds: Double, text: String) {
            #expect(RFC3339Text.milliseconds(seconds) == text)
        }

        @Test func rfc3339ReadsBackToTheSameMillisecond() {
            for seconds in stride(from: 0.0, to: 4_102_444_800, by: 86_400 * 97.123_456) {
                let text = RFC3339Text.milliseconds(seconds)
                let parsed = RFC3339.parseTimestamp(text)
                #expect(parsed.map { abs($0 - seconds) <= 0.000_5 } == true, "\(seconds) -> \(text)")
            }
        }

        @Test func logLineNamesTheAlertInLogfmt() {
            let firing = DeliveryTests.notification(summary: "worker-1 of etl made no progress for 6m")
            #expect(LogReceiver.line(for: firing, at: 1_700_000_000.123) == #"ts=2023-11-14T22:13:20.123Z level=warn msg="alert firing" agent=worker-1 alertname=AgentStalled job_name=etl severity=warning summary="worker-1 of etl made no progress for 6m""#)
            let resolved = DeliveryTests.notification("JobStalled", agent: nil, status: .resolved, summary: "ok")
            #expect(LogReceiver.line(for: resolved, at: 0) == #"ts=1970-01-01T00:00:00.000Z level=info msg="alert resolved" alertname=JobStalled job_name=etl severity=warning summary=ok"#)
        }

        @Test func logReceiverWritesOneLinePerAlertToItsSink() throws {
            let lines = Lines()
            let receiver = LogReceiver(name: "log", now: { 0 }, sink: { lines.append($0) })
            try receiver.deliver([DeliveryTests.notification(agent: "a"), DeliveryTests.notification(agent: "b")])
            #expect(lines.all.count == 2)
            #expect(lines.all[1].contains("agent=b"))
        }

        @Test func commandEnvironmentDescribesTheFirstAlert() {
            let batch = [DeliveryTests.notification(summary: "stuck"), DeliveryTests.notification("AgentLost", status: .resolved)]
            #expect(CommandEnvironment.variables(for: batch) == [
                "ALERT_STATUS": "firing", "ALERT_NAME": "AgentStalled", "ALERT_SEVERITY": "warning", "ALERT_JOB": "etl",
                "ALERT_AGENT": "worker-1", "ALERT_SUMMARY": "stuck", "ALERT_COUNT": "2",
            ])
        }
    }

    /// Collects log lines from the receiver's worker thread.
    final class Lines: Sendable {
        private let lines = Mutex<[String]>([])
        func append(_ line: String) { lines.withLock { $0.append(line) } }
        var all: [String] { lines.withLock { $0 } }
    }
}
