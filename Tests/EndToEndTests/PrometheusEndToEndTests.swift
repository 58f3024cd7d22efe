import Foundation
import TestSupport
import Testing

/// A real Prometheus (Debian's) scrapes the real binary on its demo, with the shipped rules loaded,
/// through a plain scrape config (no `honor_labels`), as an operator would write it.
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
                static_configs: [{targets: ["127.0.0.1:\(exporter.port)"]}]
            """.write(to: config, atomically: true, encoding: .utf8)
        let prometheus = try PrometheusProcess(config: config.path, storage: folder.appendingPathComponent("tsdb").path)
        defer { prometheus.stop() }
        func query(_ promql: String) async throws -> [[String: Any]] { try await prometheus.query(promql) }
        #expect(try await eventually(within: 30) { try await query(#"up{job="progress-exporter"} == 1"#).count == 1 }, "up == 1")
        #expect(try await eventually(within: 30) { try await query("progress_job_progress_ratio").count == 3 })
        let ratios = try await query("progress_job_progress_ratio").compactMap { $0["metric"] as? [String: String] }
        #expect(ratios.count == 3)
        for labels in ratios {
            #expect(labels["job_name"]?.hasSuffix("-run1") == true, "the tracker's job id arrives intact as job_name: \(labels)")
            #expect(labels["job"] == "progress-exporter", "job is the scrape job's: \(labels)")
            #expect(labels["exported_job"] == nil && labels["exported_job_name"] == nil, "no label collides: \(labels)")
        }
        let agents = try await query("progress_agent_state").compactMap { $0["metric"] as? [String: String] }
        #expect(!agents.isEmpty && agents.allSatisfy { $0["job_name"]?.hasSuffix("-run1") == true && $0["job"] == "progress-exporter" && $0["agent"] != nil })
        #expect(try await eventually(within: 30) { try await !query("job_name:progress_job_items_processed:rate1m > 0").isEmpty },
                "recording rules produce samples")
        #expect(try await eventually(within: 30) {
            let series = try await query("job_name_outcome:progress_job_items_processed:rate5m").compactMap { $0["metric"] as? [String: String] }
            return !series.isEmpty && series.allSatisfy { $0["job_name"] != nil && $0["job"] == nil }
        }, "job-level recording rules sum by job_name over scrape jobs and instances")
        let rulesAnswer = try await get("http://127.0.0.1:\(prometheus.port)/api/v1/rules")
        let text = String(decoding: rulesAnswer.body, as: UTF8.self)
        #expect(text.contains("\"health\":\"ok\"") && !text.contains("\"health\":\"err\""), "every rule evaluates")
        for alert in ["AgentStalled", "AgentLost", "AgentFailing", "JobStalled", "JobBehindSchedule"] {
            #expect(text.contains("\"name\":\"\(alert)\""), "\(alert) is loaded")
        }
    }
}
