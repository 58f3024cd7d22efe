import Foundation
import Testing

/// A real Prometheus (Debian's) scrapes the real binary on its demo, with the shipped rules loaded.
@Suite(.serialized) struct PrometheusEndToEndTests {
    @Test func prometheusScrapesTheDemoAndTheShippedRulesProduceSamples() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("pe-prom-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let exporter = try ExporterProcess(["--demo", "--demo.item-seconds", "0.2"])
        defer { exporter.stop() }

        let rules = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Alerts/progress-exporter.rules.yml")
        let config = folder.appendingPathComponent("prometheus.yml")
        try """
            global: {scrape_interval: 1s, evaluation_interval: 1s}
            rule_files: ["\(rules.path)"]
            scrape_configs:
              - job_name: progress-exporter
                honor_labels: true
                static_configs: [{targets: ["127.0.0.1:\(exporter.port)"]}]
            """.write(to: config, atomically: true, encoding: .utf8)
        let port = try freePort()
        let prometheus = Process()
        prometheus.executableURL = URL(fileURLWithPath: "/usr/bin/prometheus")
        prometheus.arguments = ["--config.file=\(config.path)", "--storage.tsdb.path=\(folder.appendingPathComponent("tsdb").path)",
                                "--web.listen-address=127.0.0.1:\(port)"]
        prometheus.standardOutput = FileHandle.nullDevice
        prometheus.standardError = FileHandle.nullDevice
        try prometheus.run()
        defer { kill(prometheus.processIdentifier, SIGKILL); prometheus.waitUntilExit() }

        func query(_ promql: String) async throws -> [[String: Any]] {
            let encoded = promql.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            let answer = try await get("http://127.0.0.1:\(port)/api/v1/query?query=\(encoded)")
            let object = try JSONSerialization.jsonObject(with: answer.body) as? [String: Any]
            return ((object?["data"] as? [String: Any])?["result"] as? [[String: Any]]) ?? []
        }
        #expect(try await eventually(seconds: 30) { try await query(#"up{job="progress-exporter"} == 1"#).count == 1 }, "up == 1")
        #expect(try await eventually(seconds: 30) {
            let ratios = try await query("progress_job_progress_ratio")
            return ratios.count == 3 && ratios.allSatisfy { (($0["metric"] as? [String: String])?["job"] ?? "").hasSuffix("-run1") }
        }, "the exporter's job label survives (honor_labels)")
        #expect(try await eventually(seconds: 30) { try await !query("job:progress_job_items_processed:rate1m > 0").isEmpty },
                "recording rules produce samples")
        #expect(try await eventually(seconds: 30) { try await !query("job_outcome:progress_job_items_processed:rate5m").isEmpty })
        let rulesAnswer = try await get("http://127.0.0.1:\(port)/api/v1/rules")
        let text = String(decoding: rulesAnswer.body, as: UTF8.self)
        #expect(text.contains("\"health\":\"ok\"") && !text.contains("\"health\":\"err\""), "every rule evaluates")
        for alert in ["AgentStalled", "AgentLost", "AgentFailing", "JobStalled", "JobBehindSchedule"] {
            #expect(text.contains("\"name\":\"\(alert)\""), "\(alert) is loaded")
        }
    }
}
