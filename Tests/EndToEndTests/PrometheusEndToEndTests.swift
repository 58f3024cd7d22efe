import Foundation
import TestSupport
import Testing

/// A real Prometheus (Debian's) scrapes the real binary on its demo, with the shipped rules loaded,
/// through a plain scrape config (no `honor_labels`), as an operator would write it.
@Suite(.serialized) struct PrometheusEndToEndTests {
    @Test func prometheusScrapesTheDemoAndTheShippedRulesProduceSamples() async throws {
        let exporter = try await ExporterProcess(["--demo", "--demo.item-seconds", "0.2"])
        defer { exporter.stop() }
        let rules = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Alerts/progress-exporter.rules.yml")
        let prometheus = try PrometheusProcess(scraping: exporter.port, ruleFiles: [rules.path])
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

    /// Prometheus asks for gzip. With jobs large enough, the exporter sends the deflated bytes of
    /// unchanged jobs again (kept segments in one gzip member): Prometheus must read those answers
    /// whole, and does so only if every series arrives.
    @Test func prometheusReadsGzipAnswersThatReuseUnchangedJobs() async throws {
        let exporter = try await ExporterProcess(["--agents.max-series", "2000"])
        defer { exporter.stop() }
        let now = Date().timeIntervalSince1970
        // 3 jobs of 500 agents: each job's agent families are far over the 4 KiB a kept segment needs.
        var lines: [String] = []
        for job in 0..<3 {
            for agent in 0..<500 {
                lines.append(#"{"type":"agent_started","job":"big-\#(job)","agent":"a-\#(agent)","item":"i-\#(agent)","ts":\#(now)}"#)
            }
        }
        let answer = try await exporter.request("POST", "/events", body: lines.joined(separator: "\n"))
        #expect(answer.status == 202)

        let prometheus = try PrometheusProcess(scraping: exporter.port)
        defer { prometheus.stop() }
        func query(_ promql: String) async throws -> [[String: Any]] { try await prometheus.query(promql) }
        func value(_ promql: String) async throws -> Double? {
            guard let first = try await query(promql).first, let pair = first["value"] as? [Any], let text = pair.last as? String else { return nil }
            return Double(text)
        }
        // The exporter counts a reused segment only after an answer that reused one was made; the
        // scrape after it reports the count, so Prometheus has read at least one such answer by then.
        #expect(try await eventually(within: 30) { try await (value(#"progress_exporter_gzip_segments_total{outcome="reused"}"#) ?? 0) > 0 },
                "gzip answers reuse kept segments")
        #expect(try await value(#"up{job="progress-exporter"}"#) == 1)
        #expect(try await value("count(progress_agent_state)") == 1_500 * 8, "every agent's every state arrived")
        #expect(try await value("count(progress_agent_last_seen_timestamp_seconds)") == 1_500)
        #expect(try await value(#"sum(progress_job_agents{state="running"})"#) == 1_500)
    }
}
