import Foundation
import TestSupport
import Testing

/// What one cheap client could do with request framing and the events token, through the real binary
/// on raw sockets (issue 22, items 1 and 8).
@Suite(.serialized) struct FramingEndToEndTests {
    private func statusLine(_ answer: String) -> String { String(answer.prefix { $0 != "\r" }) }

    @Test func ambiguousFramingIsRefusedAtOnceAndNothingSmuggledIsApplied() async throws {
        let exporter = try await ExporterProcess([])
        defer { exporter.stop() }
        let smuggled = #"{"type":"job_started","job":"smuggled","total_items":3}"# + "\n"
        let inner = "POST /events HTTP/1.1\r\nHost: x\r\nContent-Length: \(smuggled.utf8.count)\r\n\r\n" + smuggled
        let cases: [(name: String, request: String, status: String)] = [
            ("space before the colon", "POST /events HTTP/1.1\r\nHost: x\r\nContent-Length : \(inner.utf8.count)\r\n\r\n" + inner, "400"),
            ("tab before the colon", "POST /events HTTP/1.1\r\nHost: x\r\nContent-Length\t: \(inner.utf8.count)\r\n\r\n" + inner, "400"),
            ("chunked, identity", "POST /events HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n", "501"),
            ("xchunked", "POST /events HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n", "501"),
            ("gzip, chunked", "POST /events HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", "501"),
            ("chunked with a trailing space", "POST /events HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked \r\n\r\n0\r\n\r\n", "501"),
            ("two Transfer-Encoding headers", "POST /events HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "501"),
            ("HTTP/1.1 without Host", "GET /-/healthy HTTP/1.1\r\n\r\n", "400"),
            ("HTTP/1.1 with two Host headers", "GET /-/healthy HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "400"),
        ]
        for testCase in cases {
            let socket = try Socket(port: exporter.port)
            #expect(socket.trySend(Array(testCase.request.utf8)))
            let answer = socket.receive(within: 3)
            #expect(statusLine(answer).contains(" \(testCase.status) "), "\(testCase.name): \(statusLine(answer))")
            #expect(socket.closedByPeer(within: 3), "\(testCase.name): the connection is closed")
        }
        // HTTP/1.0 needs no Host.
        let old = try Socket(port: exporter.port)
        old.trySend(Array("GET /-/healthy HTTP/1.0\r\n\r\n".utf8))
        #expect(statusLine(old.receive(within: 3)).contains(" 200 "))
        let jobs = try await exporter.request("GET", "/api/v1/jobs")
        #expect(!jobs.body.contains("smuggled"))
        #expect(try await exporter.request("GET", "/-/healthy").status == 200)
    }

    /// Strangers announcing huge bodies get 401 before `100 Continue` and hold none of the body
    /// budget: an authorised POST still gets 202.
    @Test func silentUnauthorisedUploadsTakeNoBodyBudget() async throws {
        let folder = try PersistenceTests.Folder()
        let tokenFile = folder.path("token")
        try "s3cret\n".write(toFile: tokenFile, atomically: true, encoding: .utf8)
        let exporter = try await ExporterProcess(["--web.events-bearer-token-file", tokenFile, "--web.max-body-buffer-bytes", "33554432"])
        defer { exporter.stop() }
        var silent: [Socket] = []
        for _ in 0..<16 {
            let socket = try Socket(port: exporter.port)
            socket.trySend(Array("POST /events HTTP/1.1\r\nHost: x\r\nContent-Length: 16777216\r\nExpect: 100-continue\r\n\r\n".utf8))
            silent.append(socket)
        }
        for socket in silent {
            let answer = socket.receive(within: 3)
            #expect(statusLine(answer).contains(" 401 "), "refused before the body: \(statusLine(answer))")
            #expect(!answer.contains("100 Continue"))
        }
        let now = Int(Date().timeIntervalSince1970)
        for _ in 0..<10 {
            let answer = try await exporter.request("POST", "/events", body: #"{"type":"job_started","job":"etl","total_items":3,"ts":\#(now)}"#,
                                                    headers: ["Authorization": "Bearer s3cret"])
            #expect(answer.status == 202)
        }
        #expect(sample(try await exporter.metrics(), "progress_exporter_http_body_buffered_bytes") == 0, "the silent uploads hold none of the budget")
    }
}
