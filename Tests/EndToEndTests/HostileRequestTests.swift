import Foundation
import Testing

/// Requests that used to crash the process: each is rejected alone and the exporter keeps serving.
@Suite(.serialized) struct HostileRequestTests {
    @Test func deepNestingAndHugeCountsDoNotCrashTheProcess() async throws {
        let exporter = try await ExporterProcess([])
        defer { #expect(exporter.stop() == 0, "still running and exits cleanly on SIGTERM") }

        let depth = 65_000
        let deep = #"{"type":"job_started","job":"deep","x":"#
            + String(repeating: "[", count: depth) + String(repeating: "]", count: depth) + "}"
        let body = [
            deep,
            #"{"type":"job_started","job":"big","total_items":9223372036854775806}"#,
            #"{"type":"job_items_added","job":"big","count":9223372036854775807}"#,
            #"{"type":"job_items_added","job":"big","count":9223372036854775807}"#,
            #"{"type":"job_started","job":"lenient","total_items":nonsense}"#,
        ].joined(separator: "\n")
        let answer = try await exporter.request("POST", "/events", body: body)
        #expect(answer.status == 202)
        let summary = try JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as! [String: Any]
        #expect(summary["accepted"] as? Int == 3)
        let rejections = summary["rejections"] as! [[String: Any]]
        #expect(rejections.map { $0["line"] as? Int } == [1, 5])
        #expect(rejections.map { $0["reason"] as? String } == ["invalid_json", "invalid_json"])

        #expect(try await exporter.request("GET", "/-/healthy").status == 200)
        let jobs = try await exporter.request("GET", "/api/v1/jobs")
        let list = (try JSONSerialization.jsonObject(with: Data(jobs.body.utf8)) as! [String: Any])["jobs"] as! [[String: Any]]
        let big = try #require(list.first { $0["job"] as? String == "big" })
        #expect(big["planned"] as? Int64 == Int64.max, "saturates at Int64.max")
        #expect(sample(try await exporter.metrics(), "progress_exporter_tracked_jobs") == 1)
    }
}
