import Foundation
import Testing
import TestSupport

/// A log whose jobs ended longer ago than --jobs.retention: they are forgotten at once, but said so.
@Suite struct OldLogTests {
    @Test func aJobThatEndedBeforeTheRetentionIsLoggedOnceAndCounted() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("pe-old-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let now = Date().timeIntervalSince1970
        let log = folder.appendingPathComponent("events.jsonl")
        try """
            {"type":"job_started","job":"old-run","total_items":1,"ts":\(now - 7300)}
            {"type":"item_completed","job":"old-run","agent":"a","item":"i","ts":\(now - 7250)}
            {"type":"job_completed","job":"old-run","ts":\(now - 7200)}
            {"type":"job_started","job":"recent-run","total_items":1,"ts":\(now - 60)}
            {"type":"job_completed","job":"recent-run","ts":\(now - 30)}

            """.write(to: log, atomically: true, encoding: .utf8)
        let exporter = try await ExporterProcess(["--events.file", log.path, "--jobs.retention", "1h"])
        #expect(try await eventually(within: 10) {
            sample(try await exporter.metrics(), "progress_exporter_jobs_forgotten_on_arrival_total") == 1
        })
        let metrics = try await exporter.metrics()
        #expect(metrics.contains(#"job_name="recent-run""#))
        #expect(!metrics.contains(#"job_name="old-run""#))
        try await Task.sleep(for: .milliseconds(1500))  // more upkeep ticks: still one line
        exporter.stop()
        let lines = exporter.fullLog().split(separator: "\n").filter { $0.contains("job forgotten on arrival") }
        #expect(lines.count == 1, "\(lines)")
        #expect(lines.first?.contains("level=warn") == true && lines.first?.contains("job_name=old-run") == true && lines.first?.contains("retention=1h") == true)
    }
}
