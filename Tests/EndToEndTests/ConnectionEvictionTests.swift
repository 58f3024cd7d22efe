import Foundation
import TestSupport
import Testing

/// The connection cap filled from a few addresses (issue 22, item 2): a new client still gets in.
@Suite(.serialized) struct ConnectionEvictionTests {
    @Test func aFullServerMakesRoomForANewClient() async throws {
        // No deadline or idle timeout: only making room may close a connection here, however slow the run.
        let exporter = try await ExporterProcess(["--web.max-connections", "40", "--web.max-connections-per-ip", "30", "--web.request-timeout", "0", "--web.connection-timeout", "10m"])
        defer { exporter.stop() }
        // Every slot taken by two addresses that open connections and send nothing (or trickle).
        var holders: [Socket] = []
        for index in 0..<40 {
            let socket = try Socket(port: exporter.port, source: index < 30 ? "127.0.0.2" : "127.0.0.3")
            if index % 2 == 0 { socket.trySend(Array("GET /metrics HTTP/1.1\r\nHo".utf8)) }
            holders.append(socket)
        }
        #expect(try await eventually(within: 5) {
            sample(try await exporter.metrics(), "progress_exporter_http_open_connections") ?? 0 >= 40
        })
        // A scraper from another address gets its answer every time.
        var answered = 0
        for _ in 0..<10 {
            let scraper = try Socket(port: exporter.port, source: "127.0.0.4")
            scraper.trySend(Array("GET /-/healthy HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8))
            if scraper.receive(within: 5).hasPrefix("HTTP/1.1 200") { answered += 1 }
        }
        #expect(answered == 10)
        let metrics = try await exporter.metrics()
        #expect((sample(metrics, "progress_exporter_http_connections_evicted_total") ?? 0) >= 1)
        // The room came from the busiest address.
        let cut = holders.prefix(30).filter { $0.closedByPeer(within: 0.2) }.count
        #expect(cut >= 1)
        #expect(holders.suffix(10).allSatisfy { !$0.closedByPeer(within: 0.05) }, "the smaller address keeps its connections")
    }

    @Test func theBusiestAddressCannotPushOthersOut() async throws {
        let exporter = try await ExporterProcess(["--web.max-connections", "20", "--web.max-connections-per-ip", "0", "--web.request-timeout", "0", "--web.connection-timeout", "10m"])
        defer { exporter.stop() }
        var holders: [Socket] = []
        for index in 0..<19 { holders.append(try Socket(port: exporter.port, source: index < 15 ? "127.0.0.2" : "127.0.0.3")) }
        // The 20th answers a keep-alive request: every slot is taken (no metrics request, which
        // would itself take one).
        let last = try Socket(port: exporter.port, source: "127.0.0.3")
        last.trySend(Array("GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        #expect(last.receive(within: 5).hasPrefix("HTTP/1.1 200"))
        holders.append(last)
        // One more from the busiest address is refused, not let in at another's cost.
        let greedy = try Socket(port: exporter.port, source: "127.0.0.2")
        #expect(greedy.closedByPeer(within: 3))
        #expect(holders.suffix(5).allSatisfy { !$0.closedByPeer(within: 0.05) })
    }

}
