import Foundation
import TestSupport

/// Debian's real Prometheus on 127.0.0.1 with a given config, killed when the test is done.
final class PrometheusProcess {
    let process = Process()
    let port: Int
    /// The folder `init(scraping:ruleFiles:)` made for its config and storage, removed by `stop`.
    private var ownFolder: URL?

    /// Scrapes one exporter every second as the job `progress-exporter`, through a plain scrape
    /// config (no `honor_labels`), evaluating `ruleFiles` every second; config and storage go in a
    /// fresh temporary folder.
    convenience init(scraping exporterPort: Int, ruleFiles: [String] = []) throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("pe-prom-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let config = folder.appendingPathComponent("prometheus.yml")
        try """
            global: {scrape_interval: 1s, evaluation_interval: 1s}
            rule_files: [\(ruleFiles.map { "\"\($0)\"" }.joined(separator: ", "))]
            scrape_configs:
              - job_name: progress-exporter
                static_configs: [{targets: ["127.0.0.1:\(exporterPort)"]}]
            """.write(to: config, atomically: true, encoding: .utf8)
        try self.init(config: config.path, storage: folder.appendingPathComponent("tsdb").path)
        ownFolder = folder
    }

    init(config: String, storage: String) throws {
        port = try freePort()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/prometheus")
        process.arguments = ["--config.file=\(config)", "--storage.tsdb.path=\(storage)", "--web.listen-address=127.0.0.1:\(port)"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
    }

    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        if let ownFolder { try? FileManager.default.removeItem(at: ownFolder) }
        ownFolder = nil
    }

    deinit { stop() }

    /// The result vector of an instant query.
    func query(_ promql: String) async throws -> [[String: Any]] {
        let encoded = promql.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        let answer = try await get("http://127.0.0.1:\(port)/api/v1/query?query=\(encoded)")
        let object = try JSONSerialization.jsonObject(with: answer.body) as? [String: Any]
        return ((object?["data"] as? [String: Any])?["result"] as? [[String: Any]]) ?? []
    }
}
