import Foundation
import Testing
import TestSupport

/// A job's failures through the real binary: the API pages them, export writes them, /metrics
/// counts them by reason, and a hostile error stays bounded and escaped everywhere.
@Suite struct FailuresEndToEndTests {
    func object(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    @Test func failuresArePagedExportedAndCountedByReason() async throws {
        let exporter = try await ExporterProcess(["--jobs.failure-reasons", "2"])
        defer { exporter.stop() }
        let hostile = #"<script>alert(1)</script> "quoted", and\nsecond line "# + String(repeating: "x", count: 5000)
        var lines = [#"{"type":"job_started","job":"etl","total_items":100}"#]
        for n in 0..<7 {
            lines.append(#"{"type":"item_failed","job":"etl","agent":"w\#(n % 2)","item":"i\#(n)","error":"timeout after \#(n + 10)s","retryable":true}"#)
        }
        lines.append(#"{"type":"item_failed","job":"etl","agent":"w9","item":"bad","error":\#(String(decoding: try JSONSerialization.data(withJSONObject: [hostile]), as: UTF8.self).dropFirst().dropLast()),"retryable":false}"#)
        lines.append(#"{"type":"item_failed","job":"etl","agent":"w9","item":"odd","error":"disk full","retryable":true}"#)
        lines.append(#"{"type":"item_dead_lettered","job":"etl","item":"i6"}"#)
        let posted = try await exporter.request("POST", "/events", body: lines.joined(separator: "\n"))
        #expect(posted.status / 100 == 2, "\(posted.body)")

        // Paged: 4 at a time, newest first, the cursor to the end.
        var items: [String] = []
        var cursor: String?
        var pages = 0
        repeat {
            let answer = try await exporter.request("GET", "/api/v1/jobs/etl/failures?limit=4" + (cursor.map { "&cursor=\($0)" } ?? ""))
            #expect(answer.status == 200)
            let page = try object(answer.body)
            items += (page["failures"] as? [[String: Any]] ?? []).compactMap { $0["item"] as? String }
            cursor = page["next_cursor"] as? String
            pages += 1
            if pages == 1 {
                let dead = try #require((page["dead_lettered"] as? [[String: Any]])?.first)
                #expect(dead["item"] as? String == "i6" && dead["error"] as? String == "timeout after 16s")
                let reasons = (page["reasons"] as? [[String: Any]] ?? []).compactMap { $0["reason"] as? String }
                #expect(reasons.first == "timeout after Ns", "\(reasons)")
                let newest = try #require((page["failures"] as? [[String: Any]])?[1])
                let error = try #require(newest["error"] as? String)
                #expect(error.hasPrefix("<script>alert(1)</script>") && error.utf8.count <= 515 && error.hasSuffix("…"), "cut to 512 bytes")
            }
        } while cursor != nil && pages < 10
        #expect(items == ["odd", "bad", "i6", "i5", "i4", "i3", "i2", "i1", "i0"], "\(items)")
        #expect(pages == 3)
        #expect(try await exporter.request("GET", "/api/v1/jobs/etl/failures?cursor=nonsense").status == 400)
        #expect(try await exporter.request("GET", "/api/v1/jobs/etl/failures?limit=0").status == 400)
        #expect(try await exporter.request("GET", "/api/v1/jobs/nope/failures").status == 404)

        // /metrics: the first 2 reasons with their own series, the rest as other; the label escaped.
        let metrics = try await exporter.metrics()
        #expect(sample(metrics, #"progress_job_failures_by_reason_total{job_name="etl",reason="timeout after Ns"}"#) == 7)
        #expect(sample(metrics, #"progress_job_failures_by_reason_total{job_name="etl",reason="other"}"#) == 1)
        #expect(metrics.contains(#"reason="<script>alert(N)</script> \"quoted\", and"#), "the first line, quotes escaped")
        #expect(try promtoolComplaints(metrics).isEmpty)

        // export --failures: CSV rows with the error quoted as RFC 4180 asks.
        let (status, csv) = try await ExporterProcess.runToExit(["export", "--url", exporter.base, "--failures", "--format", "csv", "--job", "etl"], seconds: 30)
        #expect(status == 0, "\(csv)")
        let rows = csv.components(separatedBy: "\r\n")
        #expect(rows.first == "job,kind,timestamp,agent,item,error,retryable")
        #expect(rows.filter { $0.hasPrefix("etl,failed,") }.count == 9)
        #expect(csv.contains(#""<script>alert(1)</script> ""quoted"", and"#))
        #expect(rows.contains { $0.hasPrefix("etl,dead_lettered,") && $0.hasSuffix(",,i6,timeout after 16s,") })
    }
}
