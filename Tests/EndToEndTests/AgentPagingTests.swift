import Foundation
import TestSupport
import Testing

/// `GET /api/v1/jobs/{job}/agents` pages (issue 22 item 3, issue 25) through the real binary.
@Suite(.serialized) struct AgentPagingTests {
    private func json(_ body: String) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] ?? [:]
    }

    @Test func everyAgentOnceAcrossPagesAndBadParametersAre400() async throws {
        let exporter = try await ExporterProcess([])
        defer { exporter.stop() }
        let now = Int(Date().timeIntervalSince1970)
        let lines = (0..<1_200).map { #"{"type":"agent_started","job":"team/etl","agent":"a\#($0)","item":"i\#($0)","ts":\#(now - 5)}"# }
        #expect(try await exporter.request("POST", "/events", body: lines.joined(separator: "\n")).status == 202)
        var seen: [String] = []
        var cursor: String?
        var pages = 0
        repeat {
            let path = "/api/v1/jobs/team%2Fetl/agents?limit=500" + (cursor.map { "&cursor=\($0)" } ?? "")
            let answer = try await exporter.request("GET", path)
            #expect(answer.status == 200)
            let page = json(answer.body)
            #expect(page["total"] as? Int == 1_200)
            seen += (page["agents"] as? [[String: Any]] ?? []).compactMap { $0["agent"] as? String }
            cursor = page["next_cursor"] as? String
            pages += 1
        } while cursor != nil && pages < 10
        #expect(pages == 3)
        #expect(seen.count == 1_200 && Set(seen).count == 1_200)
        #expect(seen == seen.sorted(), "ordered by id")
        // Without parameters: the first 500.
        #expect((json(try await exporter.request("GET", "/api/v1/jobs/team%2Fetl/agents").body)["agents"] as? [Any])?.count == 500)
        let descending = json(try await exporter.request("GET", "/api/v1/jobs/team%2Fetl/agents?sort=-agent&limit=1").body)
        #expect((descending["agents"] as? [[String: Any]])?.first?["agent"] as? String == seen.last)
        for bad in ["limit=0", "limit=5001", "limit=x", "sort=bogus", "state=sleeping", "cursor=%21%21", "sort=eta&cursor=\(String(describing: descending["next_cursor"] ?? ""))"] {
            let answer = try await exporter.request("GET", "/api/v1/jobs/team%2Fetl/agents?" + bad)
            #expect(answer.status == 400, "\(bad): \(answer.status)")
            #expect(json(answer.body)["error"] is String)
        }
        #expect(try await exporter.request("GET", "/api/v1/jobs/nope/agents?limit=1").status == 404)
    }
}
