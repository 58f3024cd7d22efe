import Foundation
import Synchronization

/// A small HTTP server on 127.0.0.1 (an ephemeral port) for tests of event-stream clients: each
/// connection's request head is recorded and handed, with the connection, to the test's handler on
/// a thread of its own; the connection is closed when the handler returns. Every wait is bounded,
/// and `stop()` ends the accept loop and wakes handlers that hold a connection open.
public final class EventStreamServer: Sendable {
    /// A request's head: the request line and headers, as received.
    public struct Request: Sendable {
        public let head: String

        /// The value of the first header named `name` (any case), trimmed; nil when absent.
        public func header(_ name: String) -> String? {
            for line in head.split(separator: "\r\n").dropFirst() {
                guard let colon = line.firstIndex(of: ":"), line[..<colon].lowercased() == name.lowercased() else { continue }
                return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
            return nil
        }
    }

    /// One accepted connection, used by the handler on its thread.
    public final class Connection: Sendable {
        let descriptor: Int32
        let stopRead: Int32

        init(descriptor: Int32, stopRead: Int32) {
            self.descriptor = descriptor
            self.stopRead = stopRead
        }

        /// Writes all of `text`; false once the client is gone.
        @discardableResult
        public func send(_ text: String) -> Bool {
            let bytes = Array(text.utf8)
            var sent = 0
            while sent < bytes.count {
                let count = bytes.withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL)) }
                if count < 0, errno == EINTR { continue }
                guard count > 0 else { return false }
                sent += count
            }
            return true
        }

        /// Sends a `200` answer's head for an event stream.
        @discardableResult
        public func sendEventStreamHead() -> Bool {
            send("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n")
        }

        /// Waits until the client closes, the server stops, or `seconds` pass.
        public func holdOpen(seconds: Double = 30) {
            let deadline = Date().addingTimeInterval(seconds)
            var buffer = [UInt8](repeating: 0, count: 4096)
            while Date() < deadline {
                var fds = [pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0), pollfd(fd: stopRead, events: Int16(POLLIN), revents: 0)]
                let ready = poll(&fds, 2, 100)
                if ready < 0, errno != EINTR { return }
                if fds[1].revents != 0 { return }
                if fds[0].revents != 0 {
                    let count = recv(descriptor, &buffer, buffer.count, 0)
                    if count <= 0 { return }
                }
            }
        }
    }

    public let port: Int
    private let listener: Int32
    private let stopRead: Int32
    private let stopWrite: Int32
    private let recorded = Mutex<[Request]>([])
    private let stopped = Mutex(false)

    public init(handler: @escaping @Sendable (_ index: Int, _ request: Request, _ connection: Connection) -> Void) throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw FreePortError(description: "socket: errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0
            }
        }
        guard bound, listen(descriptor, 16) == 0 else {
            close(descriptor)
            throw FreePortError(description: "bind/listen: errno \(errno)")
        }
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else {
            close(descriptor)
            throw FreePortError(description: "pipe: errno \(errno)")
        }
        listener = descriptor
        stopRead = ends[0]
        stopWrite = ends[1]
        port = Int(UInt16(bigEndian: address.sin_port))
        let acceptor = Thread { [self] in acceptLoop(handler) }
        acceptor.start()
    }

    deinit {
        stop()
        close(listener)
        close(stopRead)
        close(stopWrite)
    }

    /// The requests received so far, in order.
    public var requests: [Request] { recorded.withLock { $0 } }

    /// Stops accepting and wakes every handler waiting in `holdOpen`; handlers end by themselves.
    public func stop() {
        let first = stopped.withLock { stopped in
            defer { stopped = true }
            return !stopped
        }
        guard first else { return }
        var byte: UInt8 = 1
        _ = write(stopWrite, &byte, 1)
    }

    private func acceptLoop(_ handler: @escaping @Sendable (Int, Request, Connection) -> Void) {
        while true {
            var fds = [pollfd(fd: listener, events: Int16(POLLIN), revents: 0), pollfd(fd: stopRead, events: Int16(POLLIN), revents: 0)]
            let ready = poll(&fds, 2, 1000)
            if ready < 0, errno != EINTR { return }
            if fds[1].revents != 0 { return }
            guard fds[0].revents != 0 else { continue }
            let client = accept(listener, nil, nil)
            guard client >= 0 else { continue }
            let connection = Connection(descriptor: client, stopRead: stopRead)
            let thread = Thread { [self] in
                defer { close(client) }
                guard let head = readHead(client) else { return }
                let request = Request(head: head)
                let index = recorded.withLock { requests in
                    requests.append(request)
                    return requests.count - 1
                }
                handler(index, request, connection)
            }
            thread.start()
        }
    }

    /// Reads up to the blank line that ends a request head; nil after 5 s, 64 KiB or a closed connection.
    private func readHead(_ descriptor: Int32) -> String? {
        var head: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline, head.count < 1 << 16 {
            var fds = [pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)]
            guard poll(&fds, 1, 100) >= 0 || errno == EINTR else { return nil }
            guard fds[0].revents != 0 else { continue }
            let count = recv(descriptor, &buffer, buffer.count, 0)
            guard count > 0 else { return nil }
            head.append(contentsOf: buffer[..<count])
            if let text = String(validating: head, as: UTF8.self), let end = text.range(of: "\r\n\r\n") {
                return String(text[..<end.lowerBound])
            }
        }
        return nil
    }
}
