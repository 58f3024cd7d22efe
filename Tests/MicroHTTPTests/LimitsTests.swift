import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import MicroHTTP

/// The connection limits, the request deadline and the body budget, against a real server on 127.0.0.1.
@Suite("HTTP limits", .timeLimit(.minutes(1)))
struct LimitsTests {
    static func options(_ change: (inout HTTPServerOptions) -> Void) -> HTTPServerOptions {
        var options = HTTPServerOptions(listenAddress: "127.0.0.1:0")
        change(&options)
        return options
    }

    /// Polls `condition` every 20 ms for at most `seconds`.
    static func eventually(within seconds: Double = 5, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return condition()
    }

    @Test func connectionsOverThePerIPLimitAreClosedAndCountedWhileOtherAddressesAreServed() async throws {
        let options = Self.options { $0.maxConnectionsPerIP = 3 }
        try await withServer(options, router: HTTPServerTests.router()) { server, port in
            let held = try (0..<3).map { _ in try RawConnection(port: port, source: "127.0.0.2") }
            #expect(Self.eventually { server.limitCounts.openConnections == 3 })
            let over = try (0..<2).map { _ in try RawConnection(port: port, source: "127.0.0.2") }
            for connection in over { #expect(connection.closedByPeer(within: 5), "refused on arrival") }
            #expect(Self.eventually { server.limitCounts.refusedForMaxConnectionsPerIP == 2 })
            // Another address is not held back by the first one's connections.
            let answer = try await fetch(makeSession(), "GET", port: port, "/hello")
            #expect(answer.status == 200)
            #expect(!held[0].closedByPeer(within: 0.1), "the first three stay open")
            #expect(server.limitCounts.refusedForMaxConnections == 0)
        }
    }

    @Test func connectionsOverTheTotalLimitAreClosedUntilOneCloses() async throws {
        let options = Self.options {
            $0.maxConnections = 2
            $0.maxConnectionsPerIP = 0
        }
        try await withServer(options, router: HTTPServerTests.router()) { server, port in
            var held = try (0..<2).map { _ in try RawConnection(port: port) }
            #expect(Self.eventually { server.limitCounts.openConnections == 2 })
            let over = try RawConnection(port: port)
            #expect(over.closedByPeer(within: 5))
            #expect(Self.eventually { server.limitCounts.refusedForMaxConnections == 1 })
            held.removeLast()
            #expect(Self.eventually { server.limitCounts.openConnections == 1 })
            let connection = try RawConnection(port: port)
            try connection.send("GET /hello HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            #expect(connection.receive().hasPrefix("HTTP/1.1 200 OK\r\n"))
        }
    }

    @Test func aTricklingRequestIsCutAtTheDeadlineThoughItNeverIdles() async throws {
        // The idle timeout (30 s) never fires: a byte arrives every 100 ms.
        let options = Self.options { $0.requestTimeoutSeconds = 1 }
        try await withServer(options, router: HTTPServerTests.router()) { server, port in
            let connection = try RawConnection(port: port)
            let request = Array("GET /hello HTTP/1.1\r\nHost: t\r\nX-Slow: \(String(repeating: "a", count: 200))\r\n\r\n".utf8)
            let started = Date()
            var cut = false
            for byte in request {
                if connection.closedByPeer(within: 0.1) {
                    cut = true
                    break
                }
                do { try connection.send([byte]) } catch { cut = true; break }
            }
            let elapsed = Date().timeIntervalSince(started)
            #expect(cut, "still open after sending the whole request slowly")
            #expect(elapsed >= 0.9, "cut at the deadline, not before: \(elapsed) s")
            #expect(server.limitCounts.requestTimeouts == 1)
            // A connection that sends nothing is idle, not slow: that is the idle timeout's business.
            let idle = try RawConnection(port: port)
            #expect(!idle.closedByPeer(within: 1.4), "a silent connection outlived the deadline")
            try idle.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(idle.receive { $0.hasSuffix("hello\n") }.hasPrefix("HTTP/1.1 200 OK\r\n"))
            // Likewise between keep-alive requests; but the next request, once begun, is on the clock.
            #expect(!idle.closedByPeer(within: 1.4), "an idle keep-alive connection outlived the deadline")
            let next = Array("GET /hello HTTP/1.1\r\nHost: t\r\nX-Slow: \(String(repeating: "b", count: 200))\r\n\r\n".utf8)
            let begun = Date()
            var cutAgain = false
            for byte in next {
                if idle.closedByPeer(within: 0.1) {
                    cutAgain = true
                    break
                }
                do { try idle.send([byte]) } catch { cutAgain = true; break }
            }
            let again = Date().timeIntervalSince(begun)
            #expect(cutAgain, "a trickled keep-alive request went through")
            #expect(again >= 0.9, "cut at the deadline from its first byte, not before: \(again) s")
            #expect(server.limitCounts.requestTimeouts == 2)
        }
    }

    @Test func bodiesOverTheBufferBudgetGet503WithRetryAfterBeforeBeingRead() async throws {
        let options = Self.options {
            $0.maxBodyBytes = 1 << 20
            $0.maxBodyBufferBytes = 2 << 20
        }
        try await withServer(options, router: HTTPServerTests.router()) { server, port in
            let size = 1 << 20
            let head = "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: \(size)\r\nConnection: close\r\n\r\n"
            let uploads = try (0..<2).map { _ in try RawConnection(port: port) }
            for upload in uploads { try upload.send(head + String(repeating: "x", count: 1000)) }
            #expect(Self.eventually { server.limitCounts.bodyBytesBuffered == 2 << 20 })

            let refused = try RawConnection(port: port)
            try refused.send(head)
            let answer = refused.receive { $0.contains("\r\n\r\n") }
            #expect(answer.hasPrefix("HTTP/1.1 503 "))
            #expect(answer.contains("Retry-After: 1\r\n"))
            #expect(server.limitCounts.bodiesRefusedForBuffer == 1)

            for upload in uploads {
                try upload.send(String(repeating: "y", count: size - 1000))
                #expect(upload.receive().hasPrefix("HTTP/1.1 200 OK\r\n"))
            }
            #expect(Self.eventually { server.limitCounts.bodyBytesBuffered == 0 }, "released once answered")
            let after = try await fetch(makeSession(), "POST", port: port, "/echo", body: Data(repeating: 7, count: size))
            #expect(after.status == 200)
            #expect(after.body.count == size)
        }
    }

    @Test func aChunkedBodyThatOutgrowsTheBudgetIsDrainedAndGets503() async throws {
        let options = Self.options {
            $0.maxBodyBytes = 1 << 20
            $0.maxBodyBufferBytes = 1 << 20
        }
        try await withServer(options, router: HTTPServerTests.router()) { server, port in
            var holder: RawConnection? = try RawConnection(port: port)
            try holder?.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: \(600 << 10)\r\n\r\nabc")
            #expect(Self.eventually { server.limitCounts.bodyBytesBuffered == 600 << 10 })

            let chunked = try RawConnection(port: port)
            let chunk = String(repeating: "z", count: 100 << 10)
            let piece = String(chunk.utf8.count, radix: 16) + "\r\n" + chunk + "\r\n"
            try chunked.send("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
            for _ in 0..<6 { try chunked.send(piece) }
            try chunked.send("0\r\n\r\n")
            let answer = chunked.receive()
            #expect(answer.hasPrefix("HTTP/1.1 503 "))
            #expect(answer.contains("Retry-After: 1\r\n"))
            #expect(server.limitCounts.bodyBytesBuffered == 600 << 10, "the drained body holds nothing")
            holder = nil
            #expect(Self.eventually { server.limitCounts.bodyBytesBuffered == 0 }, "an aborted upload gives its bytes back")
        }
    }

    @Test func optionsAreValidated() {
        #expect(throws: HTTPServerError.self) { try Self.options { $0.maxConnections = 0 }.validated() }
        #expect(throws: HTTPServerError.self) { try Self.options { $0.maxConnections = .max }.validated() }
        #expect(throws: HTTPServerError.self) { try Self.options { $0.maxConnectionsPerIP = -1 }.validated() }
        #expect(throws: HTTPServerError.self) { try Self.options { $0.requestTimeoutSeconds = -1 }.validated() }
        #expect(throws: HTTPServerError.self) {
            try Self.options {
                $0.maxBodyBytes = 4 << 20
                $0.maxBodyBufferBytes = 1 << 20
            }.validated()
        }
        #expect(throws: Never.self) { try Self.options { $0.maxBodyBufferBytes = 0 }.validated() }
    }
}
