import Dispatch
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
import TestSupport
@testable import MicroHTTP

/// Handlers run on worker threads while the connection is suspended: a handler that blocks stalls only its
/// own request, never the other connections of libmicrohttpd's poll thread.
@Suite("Handler workers", .timeLimit(.minutes(1)))
struct HandlerWorkersTests {
    /// A route that blocks until the test opens its gate.
    static func router(gate: DispatchSemaphore, entered: DispatchSemaphore) -> Router {
        var router = Router()
        router.route("GET", "/slow") { _ in
            entered.signal()
            gate.wait()
            return .text("slow\n")
        }
        router.route("GET", "/fast") { _ in .text("fast\n") }
        return router
    }

    @Test func aBlockedHandlerStallsOnlyItsOwnRequest() async throws {
        let gate = DispatchSemaphore(value: 0)
        let entered = DispatchSemaphore(value: 0)
        // One poll thread: before the workers, the blocked handler held every connection.
        var options = HTTPServerOptions(listenAddress: "127.0.0.1:0", threadPoolSize: 1)
        options.handlerThreads = 2
        try await withServer(options, router: Self.router(gate: gate, entered: entered)) { _, port in
            let slow = try RawConnection(port: port, timeoutSeconds: 10)
            try slow.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(entered.wait(timeout: .now() + 10) == .success, "the slow handler started")
            // While it blocks, other connections on the same poll thread are served.
            for _ in 0..<5 {
                let fast = try await fetch(makeSession(), "GET", port: port, "/fast")
                #expect(fast.status == 200 && fast.text == "fast\n")
            }
            gate.signal()
            let answer = slow.receive { $0.hasSuffix("slow\n") }
            #expect(answer.hasPrefix("HTTP/1.1 200") && answer.hasSuffix("slow\n"), "\(answer)")
        }
    }

    /// `--web.handler-threads 0`: no workers, handlers run on the poll thread (the trade an operator
    /// may choose for the lowest latency per request): requests are answered, and a request with a body.
    @Test func withoutHandlerThreadsHandlersRunOnThePollThread() async throws {
        var options = HTTPServerOptions(listenAddress: "127.0.0.1:0", threadPoolSize: 1)
        options.handlerThreads = 0
        var router = Router()
        router.route("GET", "/fast") { _ in .text("fast\n") }
        router.route("POST", "/echo") { request in .text("\(request.body.count)\n") }
        try await withServer(options, router: router) { _, port in
            for _ in 0..<3 {
                let fast = try await fetch(makeSession(), "GET", port: port, "/fast")
                #expect(fast.status == 200 && fast.text == "fast\n")
            }
            let connection = try RawConnection(port: port, timeoutSeconds: 10)
            try connection.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
            let answer = connection.receive { $0.hasSuffix("5\n") }
            #expect(answer.hasPrefix("HTTP/1.1 200") && answer.hasSuffix("5\n"), "\(answer)")
        }
    }

    @Test func stoppingWithAHandlerStillRunningAnswers503AndReturns() async throws {
        let gate = DispatchSemaphore(value: 0)
        let entered = DispatchSemaphore(value: 0)
        var options = HTTPServerOptions(listenAddress: "127.0.0.1:0", threadPoolSize: 1, shutdownTimeoutSeconds: 0.2)
        options.handlerThreads = 1
        let server = HTTPServer(options: options, router: Self.router(gate: gate, entered: entered))
        try server.start()
        let slow = try RawConnection(port: server.boundPort, timeoutSeconds: 10)
        try slow.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(entered.wait(timeout: .now() + 10) == .success)
        // libmicrohttpd panics when stopped with a suspended connection: the pending request is answered first.
        server.stop()
        let answer = slow.receive { $0.contains("\r\n\r\n") }
        #expect(answer.hasPrefix("HTTP/1.1 503"), "\(answer)")
        gate.signal()
    }

    /// A password check (bcrypt of new credentials) runs on a worker too: while it runs, the one poll
    /// thread serves other connections.
    @Test func aPasswordCheckDoesNotStallOtherConnections() async throws {
        // bcrypt that blocks until the test lets it finish: however slow the machine, the check is still
        // running while /fast is asked for.
        let release = DispatchSemaphore(value: 0)
        let started = DispatchSemaphore(value: 0)
        let checker = BasicAuthChecker { password, hash in
            started.signal()
            release.wait()
            return BasicAuthChecker.bcryptMatches(password: password, hash: hash)
        }
        let users = try WebConfig(yaml: "basic_auth_users: {alice: \"\(bcryptHash("s3cret"))\"}").users
        let security = WebSecurity(config: WebConfig(users: users), checker: checker) { _, path in path == "/fast" }
        var options = HTTPServerOptions(listenAddress: "127.0.0.1:0", threadPoolSize: 1)
        options.handlerThreads = 2
        var router = Router()
        router.route("GET", "/fast") { _ in .text("fast\n") }
        router.route("GET", "/private") { _ in .text("private\n") }
        let server = HTTPServer(options: options, security: security, router: router)
        try server.start()
        defer { server.stop() }

        let checked = try RawConnection(port: server.boundPort, timeoutSeconds: 10)
        try checked.send("GET /private HTTP/1.1\r\nHost: x\r\nAuthorization: \(basic("alice", "wrong"))\r\n\r\n")
        #expect(started.wait(timeout: .now() + 10) == .success, "the check started")
        let fast = try await fetch(makeSession(), "GET", port: server.boundPort, "/fast")
        #expect(fast.status == 200)
        #expect(!checked.hasData(), "the check is still running")
        release.signal()
        let answer = checked.receive { $0.contains("\r\n\r\n") }
        #expect(answer.hasPrefix("HTTP/1.1 401"), "\(answer)")
    }

    /// After a password check on a worker the request goes on where it was: its body is read and handled.
    @Test func aRequestWithNewCredentialsKeepsItsBody() async throws {
        let users = try WebConfig(yaml: "basic_auth_users: {alice: \"\(bcryptHash("s3cret"))\", bob: \"\(bcryptHash("b0b"))\"}").users
        var router = Router()
        router.route("POST", "/echo") { request in .bytes(request.body, contentType: "application/octet-stream") }
        let security = WebSecurity(config: WebConfig(users: users))
        let server = HTTPServer(options: HTTPServerOptions(listenAddress: "127.0.0.1:0", threadPoolSize: 1), security: security, router: router)
        try server.start()
        defer { server.stop() }
        // Printable, so curl's output compares as text; with and without `Expect: 100-continue`.
        let body = String((0..<200_000).map { Character(UnicodeScalar(UInt8(65 + $0 % 26))) })
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("body-\(UUID().uuidString)")
        try body.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let url = "http://127.0.0.1:\(server.boundPort)/echo"
        // Each row new credentials (outcomes are cached), so each one runs the check on a worker: the
        // body is read after the resume, with and without `Expect: 100-continue`.
        let rows: [(user: String, password: String, expect: String, status: Int)] = [
            ("alice", "s3cret", "Expect:", 200), ("bob", "b0b", "Expect: 100-continue", 200),
            ("alice", "wrong", "Expect:", 401), ("bob", "again", "Expect: 100-continue", 401),
        ]
        for row in rows {
            let answer = try curl(["-u", row.user + ":" + row.password, "-H", row.expect, "--data-binary", "@" + file.path, url])
            #expect(answer.status == row.status, "\(row.user), \(row.expect): \(answer.status)")
            if row.status == 200 { #expect(answer.body == body, "\(row.user): the body came back whole") }
        }
        #expect(security.bcryptRuns == 4, "every row was checked by bcrypt on a worker")
    }
}
