import Foundation
import TestSupport
import Testing

/// Restarting with `--events.offsets-file` and no saved state: followed files are read again from
/// their start, so a running job keeps its planned total and counts (it used to resume mid-file
/// into an empty store: 2 finished became 1, the planned total unknown).
@Suite(.serialized) struct RestartTests {
    @Test func aRestartWithAnOffsetsFileKeepsTheJobWhole() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("restart-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let events = folder.appendingPathComponent("events.jsonl")
        let offsets = folder.appendingPathComponent("offsets.json").path
        let now = Int(Date().timeIntervalSince1970)
        try """
            {"type":"job_started","job":"etl","total_items":4,"ts":\(now - 30)}
            {"type":"item_completed","job":"etl","agent":"w1","item":"a","ts":\(now - 20)}

            """.write(to: events, atomically: false, encoding: .utf8)
        let arguments = ["--events.file", events.path, "--events.offsets-file", offsets]

        func finished(_ exporter: ExporterProcess) async throws -> Double? {
            sample(try await exporter.metrics(), #"progress_job_items_processed_total{job_name="etl",outcome="completed"}"#)
        }
        let first = try await ExporterProcess(arguments)
        let handle = try FileHandle(forWritingTo: events)
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(#"{"type":"item_completed","job":"etl","agent":"w1","item":"b","ts":\#(now - 10)}"#.utf8 + [10]))
        try handle.close()
        #expect(try await eventually(within: 10) { try await finished(first) == 2 })
        #expect(first.stop() == 0)
        #expect(FileManager.default.fileExists(atPath: offsets), "the offsets file is still written")

        let second = try await ExporterProcess(arguments)
        defer { second.stop() }
        #expect(try await eventually(within: 10) { try await finished(second) == 2 })
        let metrics = try await second.metrics()
        #expect(sample(metrics, #"progress_job_items{job_name="etl"}"#) == 4)
        #expect(sample(metrics, #"progress_job_items_remaining{job_name="etl"}"#) == 2)
        // The file source's own counters are exported.
        #expect(sample(metrics, #"progress_exporter_source_lines_total{source="file"}"#) == 3)
        #expect(sample(metrics, "progress_exporter_source_offsets_file_errors_total") == 0)
        #expect(sample(metrics, "progress_exporter_source_followed_files") == 1)
        #expect(second.startupLog.contains("read from their start"))
    }
}
