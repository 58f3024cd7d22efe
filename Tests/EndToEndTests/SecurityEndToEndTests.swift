import Foundation
import Testing

/// What an exporter reachable by others must refuse, through the real binary on 127.0.0.1.
@Suite(.serialized) struct SecurityEndToEndTests {
    let folder: URL

    init() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("pe-sec-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    func file(_ name: String, _ contents: String) throws -> String {
        let url = folder.appendingPathComponent(name)
        try Data(contents.utf8).write(to: url)
        return url.path
    }

    // MARK: - POST /-/reload

    @Test func reloadIsRefusedWithoutEnableLifecycleAndSaysWhichFlagAllowsIt() async throws {
        defer { try? FileManager.default.removeItem(at: folder) }
        let config = try file("config.yml", "rules:\n  - kind: agent_lost\n    after: 1h\n")
        let exporter = try ExporterProcess(["--config.file", config])
        defer { exporter.stop() }
        // A broken file on disk: had the reload run, it would fail and the metric would say 0.
        _ = try file("config.yml", "rules:\n  - kind: agent_lost\n    after: soon\n")
        let refused = try await exporter.request("POST", "/-/reload")
        #expect(refused.status == 403)
        #expect(refused.body.contains("--web.enable-lifecycle"))
        #expect(sample(try await exporter.metrics(), "progress_exporter_config_last_reload_successful") == 1, "nothing was re-read")
        #expect(try await exporter.request("GET", "/-/reload").status == 405)

        _ = try file("config.yml", "rules:\n  - kind: agent_lost\n    after: 1h\n")
        let enabled = try ExporterProcess(["--config.file", config, "--web.enable-lifecycle"])
        defer { enabled.stop() }
        _ = try file("config.yml", "rules:\n  - kind: agent_lost\n    after: 2h\n")
        let reloaded = try await enabled.request("POST", "/-/reload")
        #expect(reloaded.status == 200)
        #expect(reloaded.body.contains("reloaded"))
    }
}
