import Foundation
import Synchronization
import TestSupport
import Testing

/// `--events.sse-url` through the real binary, against an event-stream server in the test on 127.0.0.1.
@Suite(.serialized, .timeLimit(.minutes(2))) struct EventStreamEndToEndTests {
    let folder: URL

    init() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("pe-sse-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    func file(_ name: String, _ contents: String) throws -> String {
        let url = folder.appendingPathComponent(name)
        try Data(contents.utf8).write(to: url)
        return url.path
    }

    static func completed(_ item: Int) -> String {
        #"{"type":"item_completed","job":"sse-job","agent":"w1","item":"i\#(item)"}"#
    }

    /// The SSE events of a tracker's history after `lastID`: id 1 starts the job, ids 2 and 3 complete
    /// items 1 and 2, id 5 (there is no 4) carries items 3 and 4 in two data lines, ids 6 to 10 complete
    /// items 5 to 9.
    static func history(after lastID: Int) -> String {
        var text = ""
        if lastID < 1 { text += "id: 1\ndata: {\"type\":\"job_started\",\"job\":\"sse-job\",\"total_items\":12}\n\n" }
        for id in stride(from: max(lastID + 1, 2), through: 10, by: 1) where id != 4 {
            if id == 5 {
                text += "id: 5\ndata: \(completed(3))\ndata: \(completed(4))\n\n"
            } else {
                text += "id: \(id)\ndata: \(completed(id - 1))\n\n"
            }
        }
        return text
    }

    @Test func eventsOfADroppedStreamAreAppliedExactlyOnceAfterResumingWithLastEventID() async throws {
        defer { try? FileManager.default.removeItem(at: folder) }
        let secret = "sse-t0ken-4b3c"
        let token = try file("token", secret + "\n")
        let gate = Mutex(false)
        let server = try EventStreamServer { index, request, connection in
            // Held until the test has seen /-/ready name the stream.
            let deadline = Date().addingTimeInterval(20)
            while !gate.withLock({ $0 }), Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
            guard request.header("Authorization") == "Bearer \(secret)" else {
                connection.send("HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                return
            }
            connection.sendEventStreamHead()
            if index == 0 {
                // Ids 1 to 5 (job_started, items 1 to 4), a keep-alive comment, then item 5 cut off mid-event.
                let full = Self.history(after: 0)
                let upToFive = full.components(separatedBy: "id: 6\n")[0]
                connection.send(": hello\n\n" + upToFive + ": keep-alive\n\nid: 6\ndata: " + Self.completed(5))
                return
            }
            let last = Int(request.header("Last-Event-ID") ?? "") ?? 0
            connection.send(Self.history(after: last))
            connection.holdOpen()
        }
        defer { server.stop() }
        let url = "http://127.0.0.1:\(server.port)/stream"
        let exporter = try await ExporterProcess(["--events.sse-url", url + "?since=0", "--events.sse-bearer-token-file", token])
        defer { exporter.stop() }

        let notReady = try await exporter.request("GET", "/-/ready")
        #expect(notReady.status == 503)
        #expect(notReady.body.contains("events.sse \(url): not connected yet"), "\(notReady.body)")
        gate.withLock { $0 = true }

        func completedItems() async throws -> Int? {
            let body = try await exporter.request("GET", "/api/v1/jobs").body
            let json = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
            let jobs = json?["jobs"] as? [[String: Any]] ?? []
            return jobs.first { $0["job"] as? String == "sse-job" }?["completed"] as? Int
        }
        #expect(try await eventually(within: 20) { try await completedItems() == 9 })
        try await Task.sleep(for: .milliseconds(500))
        #expect(try await completedItems() == 9, "every event once: items 1 to 9")
        #expect(try await exporter.request("GET", "/-/ready").status == 200)

        let requests = server.requests
        try #require(requests.count == 2, "one drop, one reconnect")
        #expect(requests[0].header("Last-Event-ID") == nil)
        #expect(requests[1].header("Last-Event-ID") == "5", "the last complete event, not the one cut off")
        #expect(requests.allSatisfy { $0.header("Accept") == "text/event-stream" })

        let metrics = try await exporter.metrics()
        #expect(sample(metrics, #"progress_exporter_events_received_total{source="sse"}"#) == 10)
        #expect(sample(metrics, #"progress_exporter_sse_connects_total{url="\#(url)"}"#) == 2)
        #expect(sample(metrics, #"progress_exporter_sse_disconnects_total{url="\#(url)"}"#) == 1)
        #expect(sample(metrics, #"progress_exporter_sse_reconnect_attempts_total{url="\#(url)"}"#) == 1)
        #expect(sample(metrics, #"progress_exporter_sse_state{url="\#(url)",state="connected"}"#) == 1)
        #expect(sample(metrics, #"progress_exporter_sse_state{url="\#(url)",state="waiting"}"#) == 0)
        #expect(try promtoolComplaints(metrics).isEmpty)

        // Stops promptly with the stream open, and logs neither the token nor the query.
        #expect(exporter.stop() == 0)
        let log = exporter.fullLog()
        #expect(log.contains("event stream connected"))
        #expect(log.contains("event stream disconnected"))
        #expect(!log.contains(secret))
        #expect(!log.contains("since=0"))
    }

    @Test(arguments: [
        ("empty", "", "empty"),
        ("missing", nil, "No such file or directory"),
    ] as [(String, String?, String)])
    func aStreamTokenFileThatIsEmptyOrUnreadableIsRefusedAtStart(name: String, contents: String?, reason: String) async throws {
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = try contents.map { try file(name, $0) } ?? folder.appendingPathComponent(name).path
        let run = try await ExporterProcess.runToExit([
            "serve", "--web.listen-address", "127.0.0.1:0", "--events.sse-url", "http://127.0.0.1:9/s", "--events.sse-bearer-token-file", path,
        ])
        #expect(run.status != nil && run.status != 0, "exits by itself, with an error: \(run.output)")
        #expect(run.output.contains("--events.sse-bearer-token-file \(path)"))
        #expect(run.output.contains(reason))
    }

    @Test(arguments: ["ftp://127.0.0.1/s", "127.0.0.1:9/s", "http:///s"])
    func aURLThatIsNotHTTPIsRefusedAtStart(url: String) async throws {
        let run = try await ExporterProcess.runToExit(["serve", "--web.listen-address", "127.0.0.1:0", "--events.sse-url", url])
        #expect(run.status != nil && run.status != 0, "\(run.output)")
        #expect(run.output.contains("--events.sse-url"))
    }
}
