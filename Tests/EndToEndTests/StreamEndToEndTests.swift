import Foundation
#if canImport(Glibc)
import Glibc
#endif
import TestSupport
import Testing

/// GET /api/v1/stream through the real binary: ids, Last-Event-ID, history, and a client that never reads.
@Suite(.serialized, .timeLimit(.minutes(3))) struct StreamEndToEndTests {
    /// A raw TCP client that reads a stream with bounded waits.
    final class StreamClient {
        let descriptor: Int32
        private(set) var received = ""

        init(port: Int, path: String, headers: [String: String] = [:], receiveBuffer: Int32? = nil) throws {
            descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard descriptor >= 0 else { throw TestFailure("socket: \(errno)") }
            if var size = receiveBuffer {
                setsockopt(descriptor, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
            }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard connected == 0 else { close(descriptor); throw TestFailure("connect: \(errno)") }
            var request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
            for (name, value) in headers { request += "\(name): \(value)\r\n" }
            request += "\r\n"
            _ = request.withCString { send(descriptor, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
        }

        deinit { close(descriptor) }

        /// Reads until `condition` holds for what was received, at most `seconds`.
        @discardableResult
        func read(within seconds: Double = 10, until condition: (String) -> Bool) -> Bool {
            let deadline = Date().addingTimeInterval(seconds)
            var buffer = [UInt8](repeating: 0, count: 65536)
            while !condition(received) {
                let left = deadline.timeIntervalSinceNow
                if left <= 0 { return false }
                var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
                guard poll(&poller, 1, Int32(min(left, 1) * 1000)) > 0 else { continue }
                let count = recv(descriptor, &buffer, buffer.count, 0)
                if count <= 0 { return condition(received) }
                received += String(decoding: buffer[0 ..< count], as: UTF8.self)
            }
            return true
        }

        /// The body so far, its chunked transfer encoding undone.
        var body: String {
            guard let head = received.range(of: "\r\n\r\n") else { return "" }
            var rest = Substring(received[head.upperBound...])
            var out = ""
            while let lineEnd = rest.range(of: "\r\n"), let size = Int(rest[..<lineEnd.lowerBound], radix: 16) {
                let start = lineEnd.upperBound
                guard let end = rest.utf8.index(start, offsetBy: size, limitedBy: rest.endIndex) else { break }
                out += rest[start ..< end]
                rest = rest[(rest.utf8.index(end, offsetBy: 2, limitedBy: rest.endIndex) ?? rest.endIndex)...]
            }
            return out
        }

        /// (id, event name, data) of every complete event so far.
        var events: [(id: UInt64?, name: String, data: String)] {
            body.components(separatedBy: "\n\n").compactMap { block in
                var id: UInt64?
                var name = "message"
                var data: String?
                for line in block.components(separatedBy: "\n") {
                    let line = line.hasSuffix("\r") ? String(line.dropLast()) : line
                    if line.hasPrefix("id: ") { id = UInt64(line.dropFirst(4)) }
                    if line.hasPrefix("event: ") { name = String(line.dropFirst(7)) }
                    if line.hasPrefix("data: ") { data = String(line.dropFirst(6)) }
                }
                return data.map { (id, name, $0) }
            }
        }
    }

    static func jobs(in data: String) -> [String] {
        let object = (try? JSONSerialization.jsonObject(with: Data(data.utf8))) as? [String: Any]
        return ((object?["jobs"] as? [[String: Any]]) ?? []).compactMap { $0["job"] as? String }
    }

    static func residentBytes(_ pid: Int32) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }) else { return 0 }
        return (Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0) * 1024
    }

    @Test func eventsArriveWithIDsAndLastEventIDResumes() async throws {
        let exporter = try await ExporterProcess([])
        defer { exporter.stop() }
        let now = Date().timeIntervalSince1970
        _ = try await exporter.request("POST", "/events", body: #"{"type":"job_started","job":"first","total_items":5,"ts":\#(now)}"#)

        let client = try StreamClient(port: exporter.port, path: "/api/v1/stream")
        #expect(client.read { _ in client.events.contains { $0.name == "jobs" } })
        #expect(client.received.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(client.received.contains("Content-Type: text/event-stream"))
        #expect(client.received.contains("retry: "))
        let firstJobs = try #require(client.events.first { $0.name == "jobs" })
        #expect(Self.jobs(in: firstJobs.data) == ["first"])
        let resumeID = try #require(firstJobs.id)
        #expect(resumeID >= 1)

        _ = try await exporter.request("POST", "/events", body: #"{"type":"job_started","job":"second","total_items":5,"ts":\#(now)}"#)
        #expect(client.read { _ in client.events.contains { Self.jobs(in: $0.data).contains("second") } })
        let second = try #require(client.events.first { Self.jobs(in: $0.data).contains("second") })
        #expect(Self.jobs(in: second.data) == ["second"], "only what changed")
        #expect(second.id ?? 0 > resumeID, "ids grow with the store's sequence")
        #expect(client.events.allSatisfy { $0.id != nil }, "an id on every event")

        // A reconnect with Last-Event-ID gets what came after it, not everything again.
        let resumed = try StreamClient(port: exporter.port, path: "/api/v1/stream", headers: ["Last-Event-ID": String(resumeID)])
        #expect(resumed.read { _ in resumed.events.contains { $0.name == "jobs" } })
        #expect(resumed.events.filter { $0.name == "jobs" }.flatMap { Self.jobs(in: $0.data) } == ["second"])
        #expect(resumed.events.first?.name == "hello" && resumed.events.first?.data.contains(#""reset":false"#) == true)

        // The history endpoint serves the job (404 for others).
        #expect(try await exporter.request("GET", "/api/v1/jobs/first/history").status == 200)
        #expect(try await exporter.request("GET", "/api/v1/jobs/nope/history").status == 404)
        let metrics = try await exporter.metrics()
        #expect(sample(metrics, "progress_exporter_stream_clients") == 2)
    }

    /// Readers that leave while nothing is sent (their connections wait suspended) are counted out within
    /// about a second, not at the next keep-alive 15 s later.
    @Test func readersThatLeaveAreCountedOutAtOnce() async throws {
        let exporter = try await ExporterProcess([])
        defer { exporter.stop() }
        var readers = try (0..<100).map { _ in try StreamClient(port: exporter.port, path: "/api/v1/stream") }
        for reader in readers { #expect(reader.read { _ in reader.events.contains { $0.name == "hello" } }) }
        #expect(sample(try await exporter.metrics(), "progress_exporter_stream_clients") == 100)
        readers.removeAll()  // closes every socket
        var counted = 100.0
        for _ in 0..<50 where counted > 0 {
            try await Task.sleep(for: .milliseconds(100))
            counted = sample(try await exporter.metrics(), "progress_exporter_stream_clients") ?? -1
        }
        #expect(counted == 0, "\(counted) readers still counted 5 s after all 100 left")
    }

    @Test func aClientThatNeverReadsDoesNotGrowTheExportersMemory() async throws {
        let exporter = try await ExporterProcess([])
        defer { exporter.stop() }
        let now = Date().timeIntervalSince1970
        let step = String(repeating: "s", count: 2000)
        func batch(_ round: Int) -> String {
            (0 ..< 500).map { agent in
                #"{"type":"agent_progress","job":"big","agent":"a\#(agent)","step":"\#(step)-\#(round)","progress":0.\#(round % 9 + 1),"ts":\#(now)}"#
            }.joined(separator: "\n")
        }
        _ = try await exporter.request("POST", "/events", body: batch(0))
        // Never reads, with a small socket buffer: everything it is sent stays queued in the exporter.
        let stuck = try StreamClient(port: exporter.port, path: "/api/v1/stream?job=big", receiveBuffer: 4096)
        let reader = try StreamClient(port: exporter.port, path: "/api/v1/stream?job=big")
        #expect(reader.read { _ in reader.events.contains { $0.name == "agents" } })
        try await Task.sleep(for: .milliseconds(500))
        let before = Self.residentBytes(exporter.process.processIdentifier)
        // 1 MB of changed agents per POST, 60 POSTs: an unbounded queue would hold about 60 MB for `stuck`.
        // The reader reads as it goes (a reader that stopped would be dropped as too slow, rightly), looking
        // only at the end of what came: it receives tens of MB.
        for round in 1 ... 60 {
            _ = try await exporter.request("POST", "/events", body: batch(round))
            reader.read(within: 0.1) { $0.suffix(20_000).contains("-\(round)\"") }
        }
        #expect(reader.read(within: 30) { $0.suffix(20_000).contains("-60\"") }, "a reading client gets the newest state meanwhile")
        let after = Self.residentBytes(exporter.process.processIdentifier)
        let grown = after - before
        print("exporter RSS with a client that never reads: \(before >> 20) MiB -> \(after >> 20) MiB")
        #expect(grown < 40 << 20, "grew \(grown >> 20) MiB")
        _ = stuck
    }
}
