import Foundation
import Testing
import TestSupport

/// A followed folder the exporter may not read is reported as such, not as "no file matches yet".
@Suite struct UnreadableSourceTests {
    @Test func readinessSaysPermissionDeniedForAFolderThatCannotBeRead() async throws {
        // Root reads every folder; as root the exporter runs as nobody for this test.
        let launcher = getuid() == 0 ? ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] : []
        if !launcher.isEmpty && !FileManager.default.isExecutableFile(atPath: launcher[0]) { return }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("pe-locked-\(UUID().uuidString)")
        let locked = folder.appendingPathComponent("locked")
        try FileManager.default.createDirectory(at: locked, withIntermediateDirectories: true)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: folder.path)
        try Data("{}\n".utf8).write(to: locked.appendingPathComponent("a.jsonl"))
        try FileManager.default.setAttributes([.posixPermissions: 0o000], ofItemAtPath: locked.path)
        defer {
            try? FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: locked.path)
            try? FileManager.default.removeItem(at: folder)
        }
        let patterns = [locked.path, locked.path + "/*.jsonl", locked.path + "/a.jsonl"]
        let exporter = try await ExporterProcess(patterns.flatMap { ["--events.file", $0] }, launcher: launcher)
        defer { exporter.stop() }
        // Readiness says "not scanned yet" until the tailer's first scan.
        #expect(try await eventually(within: 10) { try await !exporter.request("GET", "/-/ready").body.contains("not scanned yet") })
        let ready = try await exporter.request("GET", "/-/ready")
        #expect(ready.status == 503)
        #expect(ready.body.contains("cannot read folder \(locked.path): Permission denied"), "\(ready.body)")
        #expect(ready.body.contains("cannot read a folder the pattern goes through: Permission denied"), "\(ready.body)")
        #expect(ready.body.contains("cannot stat \(locked.path)/a.jsonl: Permission denied"), "\(ready.body)")
        #expect(!ready.body.contains("no file matches yet"), "\(ready.body)")
    }
}
