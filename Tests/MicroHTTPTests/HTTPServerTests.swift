import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
@testable import MicroHTTP

@Suite("HTTP server", .timeLimit(.minutes(1)))
struct HTTPServerTests {
    static func router(calls: Counter = Counter()) -> Router {
        var router = Router()
        router.route("GET", "/hello") { _ in
            calls.increment()
            return .text("hello\n")
        }
        router.route("POST", "/echo") { request in
            calls.increment()
            return .bytes(request.body, contentType: "application/octet-stream")
        }
        router.route("GET", "/inspect") { request in
            let fields = [
                "name=\(request.query["name"] ?? "-")",
                "flag=\(request.query["flag"] ?? "-")",
                "x-test=\(request.header("X-Test") ?? "-")",
                "path=\(request.path)",
            ]
            return .text(fields.joined(separator: "\n"))
        }
        router.route("GET", "/peer") { request in .text(request.remoteAddress ?? "-") }
        router.route("GET", "/jobs/:job/agents") { request in .text("job=\(request.pathParameters["job"] ?? "?")\npath=\(request.path)") }
        return router
    }

    @Test func getAnswers200WithBody() async throws {
        try await withServer(router: Self.router()) { _, port in
            let response = try await fetch(makeSession(), "GET", port: port, "/hello")
            #expect(response.status == 200)
            #expect(response.text == "hello\n")
            #expect(response.header("Content-Type") == "text/plain; charset=utf-8")
            #expect(response.header("Content-Length") == "6")
        }
    }

    @Test func headAnswersWithoutBody() async throws {
        try await withServer(router: Self.router()) { _, port in
            let connection = try RawConnection(port: port)
            try connection.send("HEAD /hello HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            let text = connection.receive()
            #expect(text.hasPrefix("HTTP/1.1 200 OK\r\n"))
            #expect(text.contains("Content-Length: 6\r\n"))
            #expect(text.hasSuffix("\r\n\r\n"))
        }
    }

    @Test func unknownPathAndWrongMethod() async throws {
        try await withServer(router: Self.router()) { _, port in
            let session = makeSession()
            let missing = try await fetch(session, "GET", port: port, "/nope")
            #expect(missing.status == 404)
            #expect(missing.text == "no route for /nope; see / for the endpoints\n")
            let wrong = try await fetch(session, "DELETE", port: port, "/hello")
            #expect(wrong.status == 405)
            #expect(wrong.header("Allow") == "GET, HEAD")
            #expect(wrong.text == "method DELETE not allowed for /hello; allowed: GET, HEAD\n")
        }
    }

    @Test func queryAndHeadersArriveDecoded() async throws {
        try await withServer(router: Self.router()) { _, port in
            let response = try await fetch(
                makeSession(), "GET", port: port, "/inspect?name=a%20b%26c&flag", headers: ["X-Test": "yes"])
            #expect(response.text == "name=a b&c\nflag=\nx-test=yes\npath=/inspect")
        }
    }

    /// A job id may hold '/': escaped as "%2F" it stays inside its path segment, decoded for the handler.
    @Test func anEscapedSlashStaysInsideItsSegment() async throws {
        try await withServer(router: Self.router()) { _, port in
            let connection = try RawConnection(port: port)
            try connection.send("GET /jobs/team%2Fetl%20%E2%9C%93/agents HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            let text = connection.receive()
            #expect(text.hasPrefix("HTTP/1.1 200 OK\r\n"))
            #expect(text.hasSuffix("job=team/etl \u{2713}\npath=/jobs/team/etl \u{2713}/agents"))
            // Escaped letters of a literal segment still match it; a bad escape stays as sent.
            let other = try RawConnection(port: port)
            try other.send("GET /%6Aobs/a%zz/agents HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            #expect(other.receive().hasSuffix("job=a%zz\npath=/jobs/a%zz/agents"))
        }
    }

    @Test func largePostBodyArrivesIntact() async throws {
        let body = Data((0 ..< 3_000_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 11) })
        try await withServer(router: Self.router()) { _, port in
            let response = try await fetch(makeSession(), "POST", port: port, "/echo", body: body)
            #expect(response.status == 200)
            #expect(response.body.count == body.count)
            #expect(response.body == body)
        }
    }

    /// Owns the memory of a pieces body (written once, then only read); counts its ends so the test
    /// sees MHD let go of it.
    final class PiecesOwner: @unchecked Sendable {
        let storage: UnsafeMutableRawBufferPointer
        let released: Counter

        init(_ bytes: [UInt8], released: Counter) {
            let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 1)
            bytes.withUnsafeBytes { storage.copyMemory(from: $0) }
            self.storage = storage
            self.released = released
        }

        deinit {
            storage.deallocate()
            released.increment()
        }
    }

    @Test func piecesBodyArrivesJoinedAndItsOwnerIsReleasedAfterSending() async throws {
        let bytes = (0 ..< 2_000_000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 9) }
        let released = Counter()
        var router = Router()
        router.route("GET", "/pieces") { _ in
            let owner = PiecesOwner(bytes, released: released)
            let whole = UnsafeRawBufferPointer(owner.storage)
            // Uneven pieces, an empty one among them.
            let cuts = [0, 1, 1, 4096, 1_000_000, bytes.count]
            let pieces = zip(cuts, cuts.dropFirst()).map { UnsafeRawBufferPointer(rebasing: whole[$0 ..< $1]) }
            return HTTPResponse(headers: [.init("Content-Type", "application/octet-stream")],
                                body: .pieces(ResponsePieces(pieces, owner: owner)))
        }
        try await withServer(router: router) { _, port in
            let response = try await fetch(makeSession(), "GET", port: port, "/pieces")
            #expect(response.status == 200)
            #expect(response.header("Content-Length") == "\(bytes.count)")
            #expect(response.body == Data(bytes))
            // The release runs on MHD's thread once the answer is out; wait for it, bounded.
            for _ in 0 ..< 100 where released.count == 0 { try await Task.sleep(for: .milliseconds(20)) }
            #expect(released.count == 1)
        }
    }

    /// libmicrohttpd stops an iovec answer of more than 1,024 vectors part way: a body of thousands
    /// of pieces (a scrape of many jobs) must still arrive whole and on time.
    @Test(arguments: [1_023, 1_025, 5_000])
    func aBodyOfManyPiecesArrivesWhole(pieceCount: Int) async throws {
        // Pieces of 1 to 700 bytes, and every 97th a large one.
        var offsets = [0]
        for index in 0 ..< pieceCount { offsets.append(offsets.last! + (index % 97 == 96 ? 300_000 : 1 + (index * 37) % 700)) }
        let cuts = offsets
        let bytes = (0 ..< cuts.last!).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 10) }
        let released = Counter()
        var router = Router()
        router.route("GET", "/many") { _ in
            let owner = PiecesOwner(bytes, released: released)
            let whole = UnsafeRawBufferPointer(owner.storage)
            let pieces = zip(cuts, cuts.dropFirst()).map { UnsafeRawBufferPointer(rebasing: whole[$0 ..< $1]) }
            let body = ResponsePieces(pieces, owner: owner)
            #expect(body.buffers.count <= ResponsePieces.maxVectors)
            return HTTPResponse(headers: [.init("Content-Type", "application/octet-stream")], body: .pieces(body))
        }
        try await withServer(router: router) { _, port in
            let response = try await fetch(makeSession(), "GET", port: port, "/many")
            #expect(response.status == 200)
            #expect(response.body.count == bytes.count)
            #expect(response.body == Data(bytes))
        }
    }

    @Test func declaredBodyOverTheLimitIsRefusedBeforeItIsSent() async throws {
        let calls = Counter()
        let options = HTTPServerOptions(listenAddress: "127.0.0.1:0", maxBodyBytes: 1024)
        try await withServer(options, router: Self.router(calls: calls)) { _, port in
            let connection = try RawConnection(port: port)
            try connection.send(
                "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100000000\r\nExpect: 100-continue\r\n\r\n")
            let text = connection.receive { $0.contains("\r\n\r\n") && $0.contains("limit") }
            #expect(text.hasPrefix("HTTP/1.1 413 "))
            #expect(!text.contains("100 Continue"))
            #expect(text.contains("request body too large: a body of 100000000 bytes is over the limit of 1024 bytes"))
        }
        #expect(calls.count == 0)
    }

    @Test func chunkedBodyGrowingOverTheLimitIs413() async throws {
        let calls = Counter()
        let options = HTTPServerOptions(listenAddress: "127.0.0.1:0", maxBodyBytes: 1024)
        try await withServer(options, router: Self.router(calls: calls)) { _, port in
            let connection = try RawConnection(port: port)
            let chunk = String(repeating: "x", count: 1000)
            var request = "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            for _ in 0 ..< 4 { request += "3e8\r\n\(chunk)\r\n" }
            request += "0\r\n\r\n"
            try connection.send(request)
            let text = connection.receive { $0.contains("limit of 1024 bytes") }
            #expect(text.hasPrefix("HTTP/1.1 413 "))
        }
        #expect(calls.count == 0)
    }

    @Test func keepAliveServesSeveralRequestsOnOneConnection() async throws {
        try await withServer(router: Self.router()) { _, port in
            let connection = try RawConnection(port: port)
            try connection.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
            let first = connection.receive { $0.hasSuffix("hello\n") }
            try connection.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
            let second = connection.receive { $0.hasSuffix("hello\n") }
            #expect(statusLines(in: first) == ["HTTP/1.1 200 OK"])
            #expect(statusLines(in: second) == ["HTTP/1.1 200 OK"])
            #expect(!first.lowercased().contains("connection: close"))
        }
    }

    @Test func urlSessionReusesItsConnection() async throws {
        try await withServer(router: Self.router()) { _, port in
            let session = makeSession()
            let first = try await fetch(session, "GET", port: port, "/peer")
            let second = try await fetch(session, "GET", port: port, "/peer")
            #expect(first.status == 200 && second.status == 200)
            #expect(first.text.hasPrefix("127.0.0.1:"))
            // The same client port means the same TCP connection.
            #expect(first.text == second.text)
        }
    }

    @Test func concurrentRequestsAllSucceed() async throws {
        let calls = Counter()
        try await withServer(router: Self.router(calls: calls)) { _, port in
            let session = makeSession()
            let statuses = try await withThrowingTaskGroup(of: (Int, String).self) { group in
                for index in 0 ..< 40 {
                    group.addTask {
                        let payload = Data("request \(index)".utf8)
                        let response = try await fetch(session, "POST", port: port, "/echo", body: payload)
                        return (response.status, response.text == "request \(index)" ? "ok" : response.text)
                    }
                }
                var collected: [(Int, String)] = []
                for try await result in group { collected.append(result) }
                return collected
            }
            #expect(statuses.count == 40)
            #expect(statuses.allSatisfy { $0.0 == 200 && $0.1 == "ok" })
        }
        #expect(calls.count == 40)
    }

    @Test func portInUseIsAClearError() async throws {
        try await withServer(router: Self.router()) { _, port in
            let second = HTTPServer(options: HTTPServerOptions(listenAddress: "127.0.0.1:\(port)"), router: Router())
            #expect {
                try second.start()
            } throws: { error in
                "\(error)" == "listen 127.0.0.1:\(port): address already in use"
            }
            #expect(!second.isRunning)
        }
    }

    @Test func invalidListenAddressIsThrownByStart() {
        let server = HTTPServer(options: HTTPServerOptions(listenAddress: "localhost"), router: Router())
        #expect(throws: HTTPServerError.self) { try server.start() }
        #expect(!server.isRunning)
    }

    @Test func stopIsIdempotentAndTheServerIsGone() async throws {
        let server = HTTPServer(options: HTTPServerOptions(listenAddress: "127.0.0.1:0"), router: Self.router())
        try server.start()
        let port = server.boundPort
        #expect(port > 0)
        #expect(try await fetch(makeSession(), "GET", port: port, "/hello").status == 200)
        server.stop()
        server.stop()
        #expect(!server.isRunning)
        #expect(server.boundPort == 0)
        await #expect(throws: (any Error).self) {
            _ = try await fetch(makeSession(), "GET", port: port, "/hello")
        }
        #expect(throws: RawError.self) { _ = try RawConnection(port: port) }
    }

    @Test func startsAgainAfterStop() async throws {
        let server = HTTPServer(options: HTTPServerOptions(listenAddress: "127.0.0.1:0"), router: Self.router())
        try server.start()
        #expect(throws: HTTPServerError.alreadyRunning) { try server.start() }
        server.stop()
        try server.start()
        defer { server.stop() }
        #expect(try await fetch(makeSession(), "GET", port: server.boundPort, "/hello").status == 200)
    }
}
