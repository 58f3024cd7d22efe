import Foundation
import TestSupport
import Testing

/// A followed file that changes while the exporter is down: renamed (rotated) or rewritten in place
/// (copytruncate). Its unread tail is read once when it can be found, and reported when not.
@Suite(.serialized) struct FollowedFileRestartTests {
    let now = Int(Date().timeIntervalSince1970)
    static let completed = #"progress_job_items_processed_total{job_name="etl",outcome="completed"}"#

    private func lines(_ range: Range<Int>) -> Data {
        Data(range.map { #"{"type":"item_completed","job":"etl","agent":"w\#($0 % 5)","item":"p\#($0)","ts":\#(now - 10)}"# + "\n" }.joined().utf8)
    }

    private func append(_ data: Data, to path: String) throws {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: data)
        try handle.close()
    }

    @Test func aFileRotatedWhileDownHasItsTailReadOnceBeforeItsSuccessor() async throws {
        let folder = try PersistenceTests.Folder()
        let log = folder.path("app.jsonl")
        try lines(0..<100).write(to: URL(fileURLWithPath: log))
        let arguments = ["--storage.path", folder.path("data"), "--storage.snapshot-interval", "1h", "--events.file", log]
        let first = try await ExporterProcess(arguments)
        #expect(try await eventually(within: 10) { sample(try await first.metrics(), Self.completed) == 100 })
        #expect(first.stop() == 0)

        // While down: the writer finishes its file, which is renamed, and a new one begins.
        try append(lines(100..<200), to: log)
        #expect(rename(log, folder.path("app.jsonl.1")) == 0)
        try lines(200..<250).write(to: URL(fileURLWithPath: log))

        let second = try await ExporterProcess(arguments)
        defer { second.stop() }
        #expect(try await eventually(within: 10) { sample(try await second.metrics(), Self.completed) == 250 })
        let metrics = try await second.metrics()
        #expect(sample(metrics, #"progress_exporter_source_lines_total{source="file"}"#) == 150, "the old file's tail and the new file, nothing twice")
        #expect(sample(metrics, "progress_exporter_source_file_rotations_total") == 1)
        #expect(sample(metrics, "progress_exporter_source_file_unrecoverable_total") == 0)
        #expect(second.stop() == 0)
        #expect(second.fullLog().contains("followed file recovered"))
    }

    @Test func aFileRewrittenInPlaceWhileDownIsReportedNotSilentlyLost() async throws {
        let folder = try PersistenceTests.Folder()
        let log = folder.path("app.jsonl")
        try lines(0..<100).write(to: URL(fileURLWithPath: log))
        let arguments = ["--storage.path", folder.path("data"), "--storage.snapshot-interval", "1h", "--events.file", log]
        let first = try await ExporterProcess(arguments)
        #expect(try await eventually(within: 10) { sample(try await first.metrics(), Self.completed) == 100 })
        #expect(first.stop() == 0)

        // copytruncate while down: lines 100..<150 were copied away with the old content, then the
        // file was cut to zero and new lines came. Those 50 cannot be read from the followed file.
        try append(lines(100..<150), to: log)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        try handle.truncate(atOffset: 0)
        try handle.close()
        try lines(150..<160).write(to: URL(fileURLWithPath: log))

        let second = try await ExporterProcess(arguments)
        defer { second.stop() }
        #expect(try await eventually(within: 10) { sample(try await second.metrics(), Self.completed) == 110 })
        #expect(sample(try await second.metrics(), "progress_exporter_source_file_unrecoverable_total") == 1)
        #expect(second.stop() == 0)
        #expect(second.fullLog().contains("followed file lines lost"))
    }

    @Test func aFileDeletedWhileDownIsReported() async throws {
        let folder = try PersistenceTests.Folder()
        let log = folder.path("app.jsonl")
        try lines(0..<10).write(to: URL(fileURLWithPath: log))
        let arguments = ["--storage.path", folder.path("data"), "--storage.snapshot-interval", "1h", "--events.file", folder.path("*.jsonl")]
        let first = try await ExporterProcess(arguments)
        #expect(try await eventually(within: 10) { sample(try await first.metrics(), Self.completed) == 10 })
        #expect(first.stop() == 0)
        #expect(unlink(log) == 0)

        let second = try await ExporterProcess(arguments)
        defer { second.stop() }
        #expect(try await eventually(within: 10) {
            sample(try await second.metrics(), "progress_exporter_source_file_unrecoverable_total") == 1
        })
        #expect(sample(try await second.metrics(), Self.completed) == 10)
    }
}
