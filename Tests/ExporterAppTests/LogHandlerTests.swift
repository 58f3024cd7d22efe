import Foundation
import Logging
import Synchronization
import Testing
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
