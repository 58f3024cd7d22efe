import Foundation
import Logging
import Synchronization
import Testing
import Alerting
@testable import ExporterApp

@Suite struct LogHandlerTests {
    final class Lines: Sendable {
        let all = Mutex<[String]>([])
        var sink: @Sendable (String) -> Void { { line in self.all.withLock { $0.append(line) } } }
    }

    func logger(_ lines: Lines, level: Logger.Level = .info, format: LogFormat) -> Logger {
        Logger(label: "test") { _ in ExporterLogHandler(level: level, format: format, now: { 1_700_000_000.123 }, sink: lines.sink) }
    }

    @Test func logfmtLinesStartWithTsLevelAndMsgThenSortedMetadata() {
        let lines = Lines()
        var log = logger(lines, format: .logfmt)
        log[metadataKey: "component"] = "http"
        log.warning("could not bind", metadata: ["port": "9465", "err": "address in use"])
        #expect(lines.all.withLock { $0 } == [
            #"ts=2023-11-14T22:13:20.123Z level=warn msg="could not bind" component=http err="address in use" port=9465"#,
        ])
    }

    @Test func levelsBelowTheConfiguredOneAreDroppedAndNamesAreTheOnesPrometheusUses() {
        let lines = Lines()
        let log = logger(lines, level: .warning, format: .logfmt)
        log.debug("no")
        log.info("no")
        log.warning("w")
        log.error("e")
        log.critical("c")
        #expect(lines.all.withLock { $0 }.map { $0.split(separator: " ")[1] } == ["level=warn", "level=error", "level=error"])
        #expect(LogLevel.allCases.map(\.swiftLogLevel) == [.debug, .info, .warning, .error])
    }

    @Test func jsonLinesAreObjectsWithTheSameFields() throws {
        let lines = Lines()
        let log = logger(lines, format: .json)
        log.info("configuration reloaded", metadata: ["file": "/etc/pe.yml", "quote": "say \"hi\"\n"])
        let line = try #require(lines.all.withLock { $0 }.first)
        #expect(!line.contains("\n"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String])
        #expect(object == ["ts": "2023-11-14T22:13:20.123Z", "level": "info", "msg": "configuration reloaded", "file": "/etc/pe.yml", "quote": "say \"hi\"\n"])
    }
}

@Suite struct AlertLogLineTests {
    @Test func alertsToALogReceiverAreLogLinesInTheChosenFormatAndLevel() throws {
        let lines = LogHandlerTests.Lines()
        let logger = Logger(label: "alerts") { _ in ExporterLogHandler(level: .info, format: .json, now: { 0 }, sink: lines.sink) }
        let receiver = LogReceiver(logger: logger)
        let firing = AlertNotification(
            labels: ["alertname": "AgentStalled", "job_name": "etl", "agent": "w 1", "severity": "warning"],
            annotations: ["summary": "w 1 of etl made no progress"], status: .firing, startsAt: 0, generatorURL: "http://x")
        var resolved = firing
        resolved.status = .resolved
        try receiver.deliver([firing, resolved])
        let objects = try lines.all.withLock { $0 }.map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: String]) }
        #expect(objects.count == 2)
        #expect(objects.first == [
            "ts": "1970-01-01T00:00:00.000Z", "level": "warn", "msg": "alert firing", "alertname": "AgentStalled",
            "job_name": "etl", "agent": "w 1", "severity": "warning", "summary": "w 1 of etl made no progress",
        ])
        #expect(objects.last?["level"] == "info" && objects.last?["msg"] == "alert resolved")

        let warnOnly = LogHandlerTests.Lines()
        let quiet = LogReceiver(logger: Logger(label: "alerts") { _ in ExporterLogHandler(level: .warning, format: .logfmt, now: { 0 }, sink: warnOnly.sink) })
        try quiet.deliver([firing, resolved])
        #expect(warnOnly.all.withLock { $0 } == [
            #"ts=1970-01-01T00:00:00.000Z level=warn msg="alert firing" agent="w 1" alertname=AgentStalled job_name=etl severity=warning summary="w 1 of etl made no progress""#,
        ])
    }
}
