#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import MicroHTTP

@Suite("Streaming responses", .timeLimit(.minutes(1)))
struct HTTPStreamTests {
    /// A router whose `/events` hands out a new stream that already holds one event.
    static func eventRouter(_ opened: Locked<[HTTPStream]>) -> Router {
        var router = Router()
        router.route("GET", "/events") { _ in
            let stream = HTTPStream()
            stream.write("data: one\n\n")
            opened.withLock { $0.append(stream) }
            return HTTPResponse.stream(stream, contentType: "text/event-stream")
                .adding(header: "Cache-Control", "no-cache")
        }
        return router
    }

    @Test func serverSentEventsArriveAsTheyAreWritten() async throws {
        let opened = Locked<[HTTPStream]>([])
        try await withServer(router: Self.eventRouter(opened)) { _, port in
            let connection = try RawConnection(port: port)
            try connection.send("GET /events HTTP/1.1\r\nHost: t\r\nAccept: text/event-stream\r\n\r\n")
            let head = connection.receive { $0.contains("data: one\n\n") }
            #expect(head.hasPrefix("HTTP/1.1 200 OK\r\n"))
            #expect(head.contains("Content-Type: text/event-stream\r\n"))
            #expect(head.contains("Transfer-Encoding: chunked\r\n"))
            let stream = try #require(opened.withLock { $0.first })
            // Give the server time to find the stream empty and suspend the connection,
            // so the next write has to resume it.
            try await Task.sleep(for: .milliseconds(50))
            #expect(stream.write("data: two\n\n"))
            let more = connection.receive { $0.contains("data: two\n\n") }
            #expect(more.contains("data: two\n\n"))
            stream.close()
            let end = connection.receive { $0.hasSuffix("0\r\n\r\n") }
            #expect(end.hasSuffix("0\r\n\r\n"))
        }
    }

    @Test func aClientThatLeavesClosesTheStream() async throws {
        let opened = Locked<[HTTPStream]>([])
        try await withServer(router: Self.eventRouter(opened)) { _, port in
            var connection: RawConnection? = try RawConnection(port: port)
            try connection?.send("GET /events HTTP/1.1\r\nHost: t\r\n\r\n")
            _ = connection?.receive { $0.contains("data: one\n\n") }
            let stream = try #require(opened.withLock { $0.first })
            let closed = Locked(0)
            stream.onClose { closed.withLock { $0 += 1 } }
            connection = nil
            // A suspended connection learns of the hang-up only when it writes again.
            for _ in 0 ..< 250 where stream.write("data: ping\n\n") {
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(stream.isClosed)
            #expect(closed.withLock { $0 } == 1)
        }
    }

    @Test func stopEndsOpenStreams() async throws {
        let opened = Locked<[HTTPStream]>([])
        let server = HTTPServer(options: HTTPServerOptions(listenAddress: "127.0.0.1:0"), router: Self.eventRouter(opened))
        try server.start()
        let connection = try RawConnection(port: server.boundPort)
        try connection.send("GET /events HTTP/1.1\r\nHost: t\r\n\r\n")
        _ = connection.receive { $0.contains("data: one\n\n") }
        server.stop()
        let stream = try #require(opened.withLock { $0.first })
        #expect(stream.isClosed)
        #expect(!stream.write("data: late\n\n"))
        #expect(connection.receive().hasSuffix("0\r\n\r\n"))
    }

    @Test func aStreamIsSentOnlyOnce() async throws {
        let shared = HTTPStream()
        var router = Router()
        router.route("GET", "/shared") { _ in .stream(shared, contentType: "text/event-stream") }
        try await withServer(router: router) { _, port in
            let first = try RawConnection(port: port)
            try first.send("GET /shared HTTP/1.1\r\nHost: t\r\n\r\n")
            _ = first.receive { $0.contains("\r\n\r\n") }
            let second = try RawConnection(port: port)
            try second.send("GET /shared HTTP/1.1\r\nHost: t\r\n\r\n")
            let refused = second.receive { $0.contains("only once") }
            #expect(refused.hasPrefix("HTTP/1.1 500 "))
            shared.close()
        }
    }

    @Test func writesAfterCloseAreRefusedAndCloseActionsRunOnce() {
        let stream = HTTPStream()
        let runs = Locked(0)
        stream.onClose { runs.withLock { $0 += 1 } }
        #expect(stream.write("a"))
        stream.close()
        stream.close()
        #expect(!stream.write("b"))
        #expect(runs.withLock { $0 } == 1)
        let late = Locked(false)
        stream.onClose { late.withLock { $0 = true } }
        #expect(late.withLock { $0 })
    }

    @Test func aConsumerThatFallsTooFarBehindIsDropped() {
        let stream = HTTPStream(maxBufferedBytes: 10)
        #expect(stream.write("0123456789"))
        #expect(!stream.write("x"))
        #expect(stream.isClosed)
    }

    @Test func readDrainsWhatWasWrittenThenEnds() {
        let stream = HTTPStream()
        stream.write("hello ")
        stream.write("world")
        stream.close()
        var buffer = [UInt8](repeating: 0, count: 8)
        var received: [UInt8] = []
        while true {
            let result = buffer.withUnsafeMutableBytes { stream.read(into: $0) }
            guard case .bytes(let count) = result else {
                #expect(result == .end)
                break
            }
            received += buffer[..<count]
        }
        #expect(received == Array("hello world".utf8))
    }
}
