import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing

/// The HTTP limits against the real binary: trickling clients, slow requests and upload bursts.
@Suite(.serialized, .timeLimit(.minutes(2))) struct LimitsEndToEndTests {
    @Test func tricklingConnectionsFromOneAddressDoNotStopAScrape() async throws {
        let exporter = try await ExporterProcess(["--web.max-connections", "200", "--web.max-connections-per-ip", "20"])
        defer { #expect(exporter.stop() == 0) }
        // 300 connections from another loopback address, each trickling a request it never finishes;
        // without the per-address limit they would fill the 200 slots and the scrape would be refused.
        let request = Array("GET /metrics HTTP/1.1\r\nHost: t\r\nX-Slow: aaaaaaaa".utf8)
        let tricklers = try (0..<300).map { _ in try Socket(port: exporter.port, source: "127.0.0.2") }
        for index in 0..<3 {
            for trickler in tricklers { trickler.trySend([request[index]]) }
            try await Task.sleep(for: .milliseconds(100))
        }
        let answer = try await exporter.request("GET", "/metrics")
        #expect(answer.status == 200)
        let refused = sample(answer.body, #"progress_exporter_http_connections_refused_total{limit="max_connections_per_ip"}"#) ?? 0
        #expect(refused >= 270, "300 connections from one address, 20 allowed: \(refused) refused")
        #expect(sample(answer.body, #"progress_exporter_http_connections_refused_total{limit="max_connections"}"#) == 0)
        let open = sample(answer.body, "progress_exporter_http_open_connections") ?? 0
        #expect(open <= 21 + 2, "the 20 tricklers, the scrape, maybe a closing one: \(open)")
        _ = tricklers
    }

    @Test func aClientTricklingAByteASecondIsCutAtTheRequestDeadline() async throws {
        // The idle timeout is 30 s; a byte a second keeps the connection busy, the deadline of 2 s must still cut it.
        let exporter = try await ExporterProcess(["--web.request-timeout", "2s", "--web.connection-timeout", "30s"])
        defer { #expect(exporter.stop() == 0) }
        let socket = try Socket(port: exporter.port)
        let request = Array("GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n".utf8)
        let started = Date()
        var cut = false
        for byte in request {
            guard socket.trySend([byte]), !socket.closedByPeer(within: 1.0) else {
                cut = true
                break
            }
        }
        let elapsed = Date().timeIntervalSince(started)
        #expect(cut, "the whole request went through at a byte a second")
        #expect(elapsed >= 1.5 && elapsed < 10, "cut near the 2 s deadline: \(elapsed) s")
        let metrics = try await exporter.metrics()
        #expect(sample(metrics, "progress_exporter_http_request_timeouts_total") == 1)
    }

    @Test func uploadsOverTheBodyBufferGet503AndMemoryStaysBoundedAndReturns() async throws {
        let bodySize = 8 << 20
        let exporter = try await ExporterProcess(["--web.max-body-bytes", "\(bodySize)", "--web.max-body-buffer-bytes", "\(32 << 20)"])
        defer { #expect(exporter.stop() == 0) }
        let pid = exporter.process.processIdentifier
        // Warm up the paths a POST and a scrape take, then take the resting size.
        _ = try await exporter.request("POST", "/events", body: #"{"type":"job_started","job":"warm"}"#)
        _ = try await exporter.metrics()
        let resting = try #require(residentBytes(pid))

        // 16 uploads of 8 MiB at once: 4 fit in the 32 MiB budget, the others are refused before their body is read.
        let head = "POST /events HTTP/1.1\r\nHost: t\r\nContent-Length: \(bodySize)\r\nConnection: close\r\n\r\n"
        let uploads = try (0..<16).map { _ in try Socket(port: exporter.port) }
        for upload in uploads { #expect(upload.trySend(Array(head.utf8))) }
        var refused: [Socket] = []
        var admitted: [Socket] = []
        for upload in uploads {
            let early = upload.receive(within: 0.3)
            if early.hasPrefix("HTTP/1.1 503 ") {
                #expect(early.contains("Retry-After: 1\r\n"))
                refused.append(upload)
            } else {
                admitted.append(upload)
            }
        }
        #expect(refused.count == 12 && admitted.count == 4, "\(refused.count) refused, \(admitted.count) admitted")

        // Every admitted body but its last byte: the server now holds 4 x 8 MiB.
        let body = [UInt8](repeating: UInt8(ascii: "\n"), count: bodySize)
        for upload in admitted { #expect(upload.trySend(Array(body.dropLast()))) }
        let buffered = try await sampleEventually(exporter, "progress_exporter_http_body_buffered_bytes") { $0 == Double(32 << 20) }
        #expect(buffered == Double(32 << 20))
        let peak = try #require(residentBytes(pid))
        #expect(peak < resting + (96 << 20), "bounded: \(resting >> 20) MiB at rest, \(peak >> 20) MiB holding 4 bodies")

        for upload in admitted {
            #expect(upload.trySend([UInt8(ascii: "\n")]))
            #expect(upload.receive(within: 10).hasPrefix("HTTP/1.1 400 "), "an empty body is answered")
        }
        _ = (refused, uploads)
        // Memory goes back once the bodies are released (malloc_trim after a burst).
        var after = peak
        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline {
            after = try #require(residentBytes(pid))
            if after < resting + (16 << 20) { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        print("upload burst RSS: \(resting >> 20) MiB at rest, \(peak >> 20) MiB holding 4 x 8 MiB, \(after >> 20) MiB after")
        #expect(after < resting + (16 << 20), "back near rest: \(resting >> 20) MiB at rest, \(after >> 20) MiB after")
        let metrics = try await exporter.metrics()
        #expect(sample(metrics, "progress_exporter_http_body_buffer_refusals_total") == 12)
        #expect(sample(metrics, "progress_exporter_http_body_buffered_bytes") == 0)
    }

    private func sampleEventually(
        _ exporter: ExporterProcess, _ series: String, within seconds: Double = 5, _ done: (Double) -> Bool
    ) async throws -> Double? {
        let deadline = Date().addingTimeInterval(seconds)
        var value: Double?
        repeat {
            value = sample(try await exporter.metrics(), series)
            if let value, done(value) { return value }
            try await Task.sleep(for: .milliseconds(50))
        } while Date() < deadline
        return value
    }
}

/// VmRSS of a process from /proc/<pid>/status, in bytes.
func residentBytes(_ pid: Int32) -> Int? {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
    for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
        let kilobytes = line.split(separator: " ").dropFirst().first.flatMap { Int($0) }
        return kilobytes.map { $0 * 1024 }
    }
    return nil
}

/// A plain TCP client on 127.0.0.1 for what URLSession hides: partial requests, source addresses, early answers.
final class Socket {
    private let descriptor: Int32

    /// `source` is the local address to connect from (any 127.x.y.z is loopback on Linux).
    init(port: Int, source: String? = nil) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw TestFailure("socket: errno \(errno)") }
        if let source {
            var local = sockaddr_in()
            local.sin_family = sa_family_t(AF_INET)
            local.sin_addr.s_addr = inet_addr(source)
            let bound = withUnsafePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard bound == 0 else {
                close(descriptor)
                throw TestFailure("bind \(source): errno \(errno)")
            }
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let status = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard status == 0 else {
            close(descriptor)
            throw TestFailure("connect: errno \(errno)")
        }
    }

    deinit { close(descriptor) }

    /// Sends all of `bytes` (blocking, at most 10 s); false when the peer is gone.
    @discardableResult
    func trySend(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        let deadline = Date().addingTimeInterval(10)
        while offset < bytes.count, Date() < deadline {
            let sent = bytes[offset...].withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
            if sent > 0 {
                offset += sent
            } else if sent < 0 && (errno == EAGAIN || errno == EINTR) {
                var entry = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
                _ = poll(&entry, 1, 100)
            } else {
                return false
            }
        }
        return offset == bytes.count
    }

    /// What arrives within `seconds`, up to the peer closing.
    func receive(within seconds: Double) -> String {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            var entry = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            if poll(&entry, 1, Int32(max(1, deadline.timeIntervalSinceNow * 1000))) <= 0 { continue }
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if count > 0 {
                received.append(contentsOf: buffer[..<count])
            } else if count == 0 || (errno != EAGAIN && errno != EINTR) {
                break
            }
        }
        return String(decoding: received, as: UTF8.self)
    }

    /// Whether the peer closes (end of file or reset) within `seconds`.
    func closedByPeer(within seconds: Double) -> Bool {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            var entry = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            if poll(&entry, 1, Int32(max(1, deadline.timeIntervalSinceNow * 1000))) <= 0 { continue }
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if count == 0 || (count < 0 && errno != EAGAIN && errno != EINTR) { return true }
        }
        return false
    }
}
