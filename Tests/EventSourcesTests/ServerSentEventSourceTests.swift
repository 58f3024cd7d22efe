@testable import EventSources
import Foundation
import Synchronization
import TestSupport
import Testing

@Suite("Server-sent event source", .timeLimit(.minutes(1)))
struct ServerSentEventSourceTests {
    /// The connection changes a source reported.
    private final class Changes: Sendable {
        private let list = Mutex<[ServerSentEventSource.Change]>([])
        var all: [ServerSentEventSource.Change] { list.withLock { $0 } }
        var handler: @Sendable (ServerSentEventSource.Change) -> Void { { [self] change in list.withLock { $0.append(change) } } }
    }

    private func source(
        _ server: EventStreamServer, _ collector: Collector, _ changes: Changes = Changes(),
        configure: (inout ServerSentEventSource.Settings) -> Void = { _ in }
    ) -> ServerSentEventSource {
        var settings = ServerSentEventSource.Settings(url: "http://127.0.0.1:\(server.port)/stream")
        settings.initialBackoff = 0.05
        settings.maxBackoff = 0.5
        settings.connectTimeout = 5
        configure(&settings)
        return ServerSentEventSource(
            settings: settings, onLines: collector.onLines, onOversizedLine: collector.onOversizedLine, onChange: changes.handler)
    }

    @Test("a dropped stream is resumed with Last-Event-ID; the event cut off is not delivered, so each arrives once")
    func resumesAfterDrop() async throws {
        let server = try EventStreamServer { index, request, connection in
            connection.sendEventStreamHead()
            if index == 0 {
                connection.send("id: 1\ndata: one\n\nid: 2\ndata: two\n: keep-alive\n\nid: 3\ndata: cut-")
                return
            }
            // Resume after what the client names, as a tracker with a history would.
            if request.header("Last-Event-ID") == "2" {
                connection.send("id: 3\ndata: three\ndata: four\n\n")
            } else {
                connection.send("id: 1\ndata: one\n\nid: 2\ndata: two\n\nid: 3\ndata: three\ndata: four\n\n")
            }
            connection.holdOpen()
        }
        defer { server.stop() }
        let collector = Collector()
        let changes = Changes()
        let source = source(server, collector, changes)
        source.start()
        defer { source.stop() }

        #expect(await eventually { collector.lines == ["one", "two", "three", "four"] })
        await settle()
        #expect(collector.lines == ["one", "two", "three", "four"])
        let requests = server.requests
        try #require(requests.count == 2)
        #expect(requests[0].header("Last-Event-ID") == nil)
        #expect(requests[1].header("Last-Event-ID") == "2")
        #expect(requests[0].header("Accept") == "text/event-stream")
        #expect(requests[0].header("Authorization") == nil)
        let status = source.status
        #expect(status.connects == 2)
        #expect(status.disconnects == 1)
        #expect(status.reconnectAttempts == 1)
        #expect(status.state == .connected)
        #expect(status.lastEventID == "3")
        #expect(collector.origins.last?.position?.eventID == "3")
        #expect(collector.origins.allSatisfy { $0.source == "sse" && $0.position?.path == "http://127.0.0.1:\(server.port)/stream" })
        #expect(source.stats.linesDelivered == 4)
        #expect(changes.all.first == .connected(resumingAfter: nil))
        #expect(changes.all.contains(.connected(resumingAfter: "2")))
    }

    @Test("a wrong status or content type is retried, not read; the token is sent as a bearer token")
    func refusesWrongAnswers() async throws {
        let server = try EventStreamServer { index, _, connection in
            switch index {
            case 0: connection.send("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            case 1: connection.send("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\ndata: no\n\n")
            default:
                connection.send("HTTP/1.1 200 OK\r\nContent-Type: Text/Event-Stream; charset=utf-8\r\nConnection: close\r\n\r\n")
                connection.send("data: yes\n\n")
                connection.holdOpen()
            }
        }
        defer { server.stop() }
        let collector = Collector()
        let changes = Changes()
        let source = source(server, collector, changes) { $0.authorization = "Bearer s3cret" }
        source.start()
        defer { source.stop() }

        #expect(await eventually { collector.lines == ["yes"] })
        #expect(source.status.connects == 1)
        #expect(server.requests.allSatisfy { $0.header("Authorization") == "Bearer s3cret" })
        let reasons = changes.all.compactMap { change -> String? in
            if case let .disconnected(reason, wasConnected, _) = change, !wasConnected { return reason }
            return nil
        }
        #expect(reasons.count == 2)
        #expect(reasons.first?.contains("503") == true)
        #expect(reasons.last?.contains("text/plain") == true)
    }

    @Test("a silent server is dropped after the read timeout and reconnected, without spinning; stop() ends a wait")
    func silentServer() async throws {
        let server = try EventStreamServer { index, _, connection in
            // The first never answers; the second answers and then says nothing.
            if index > 0 { connection.sendEventStreamHead() }
            connection.holdOpen()
        }
        defer { server.stop() }
        let collector = Collector()
        let source = source(server, collector) { $0.readTimeout = 0.5 }
        source.start()

        #expect(await eventually { server.requests.count >= 3 })
        let status = source.status
        #expect(status.connects >= 1)
        #expect(status.disconnects >= 1)
        // A busy loop would wake thousands of times; poll(2) wakes for the read timeout's checks only.
        #expect(status.wakeups < 200, "woke \(status.wakeups) times")
        source.stop()
        #expect(source.status.state == .stopped)
    }

    @Test("the server's retry sets the delay before reconnecting, and stop() ends that wait at once")
    func honoursRetry() async throws {
        let server = try EventStreamServer { _, _, connection in
            connection.sendEventStreamHead()
            connection.send("retry: 20000\ndata: a\n\n")
        }
        defer { server.stop() }
        let collector = Collector()
        let source = source(server, collector) { $0.maxBackoff = 60 }
        source.start()

        #expect(await eventually { collector.lines == ["a"] && source.status.state == .waiting })
        // Without the retry the next attempt would follow within 0.1 s.
        try await Task.sleep(for: .seconds(1))
        #expect(server.requests.count == 1)
        let before = Date()
        source.stop()
        #expect(Date().timeIntervalSince(before) < 10)
        #expect(server.requests.count == 1)
    }

    @Test("an oversized data line drops its event, reported as an oversized line; the stream goes on")
    func oversizedEvent() async throws {
        let server = try EventStreamServer { _, _, connection in
            connection.sendEventStreamHead()
            connection.send("data: \(String(repeating: "x", count: 500))\n\ndata: small\n\n")
            connection.holdOpen()
        }
        defer { server.stop() }
        let collector = Collector()
        let source = source(server, collector) { $0.maxLineBytes = 100 }
        source.start()
        defer { source.stop() }

        #expect(await eventually { collector.lines == ["small"] })
        #expect(collector.oversizedLengths == [506])
        #expect(source.stats.oversizedLines == 1)
    }
}

@Suite("Server-sent event source: a line that never ends", .timeLimit(.minutes(1)))
struct ServerSentEventEndlessLineTests {
    @Test("a line that never ends is cut past 4x the limit, counted, and retried with growing backoff instead of read forever")
    func endlessLineIsCut() async throws {
        let server = try EventStreamServer { _, _, connection in
            connection.sendEventStreamHead()
            connection.send("data: ok\n\ndata: ")
            let chunk = String(repeating: "x", count: 4096)
            // Endless: until the client goes away (or 20 s).
            let deadline = Date().addingTimeInterval(20)
            while Date() < deadline, connection.send(chunk) {}
        }
        defer { server.stop() }
        let collector = Collector()
        var settings = ServerSentEventSource.Settings(url: "http://127.0.0.1:\(server.port)/stream")
        settings.initialBackoff = 0.2
        settings.maxBackoff = 5
        settings.maxLineBytes = 1000
        let reasons = Mutex<[String]>([])
        let delays = Mutex<[Double]>([])
        let source = ServerSentEventSource(settings: settings, onLines: collector.onLines, onOversizedLine: collector.onOversizedLine) { change in
            if case let .disconnected(reason, _, retryIn) = change {
                reasons.withLock { $0.append(reason) }
                delays.withLock { $0.append(retryIn) }
            }
        }
        source.start()
        defer { source.stop() }
        #expect(await eventually { reasons.withLock { $0.count } >= 2 })
        source.stop()
        #expect(reasons.withLock { $0.first?.hasPrefix("a line longer than 4000 bytes") == true })
        #expect(collector.lines.first == "ok")
        #expect(source.stats.oversizedLines >= 2)
        // Cut within a few chunks of the limit each time, not read at network speed.
        #expect(source.stats.bytesRead < UInt64(server.requests.count) * 200_000, "\(source.stats.bytesRead) bytes over \(server.requests.count) connections")
        // The backoff grows (each delay is 1-1.5x base * 2^failures): a cut connection is not a good one.
        let waits = delays.withLock { $0 }
        #expect(zip(waits, waits.dropFirst()).allSatisfy { $0 < $1 || $1 >= settings.maxBackoff }, "\(waits)")
    }
}
