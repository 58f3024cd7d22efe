import CMicroHTTPD
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The connection limits and the request deadline, shared by MHD's threads and the sweeper.
///
/// Limits: MHD asks `admit` about every accepted socket (its accept-policy callback) and
/// closes the ones refused here, so each refusal is counted. MHD's own options cannot be
/// used for this: its per-IP limit refuses before the policy callback runs, uncounted, and
/// its total limit is split per worker thread and leaves the excess waiting in the
/// listen backlog instead of refusing it.
///
/// Deadline: MHD's connection timeout is an idle timeout that every received byte resets,
/// so a client trickling one byte at a time is never idle. Here a connection's first request
/// must be in within the deadline of the connection opening, and each later one (keep-alive)
/// within the deadline of its first byte; `sweep` shuts down the socket of any connection past
/// it, which MHD then sees as a client that went away and closes. A connection that sends
/// nothing is left to the idle timeout: the sweeper tells idle from slow by the kernel's count
/// of bytes received (TCP_INFO), and notes a keep-alive request's first byte on its next pass
/// (at most an interval late). The socket stays open while `sweep` uses it: MHD reports a
/// connection closed (`closed`, under the same lock) before it closes the socket.
final class ConnectionGuard: Sendable {
    struct Limits: Sendable, Equatable {
        /// Open connections in all; 0 for no limit.
        var maxConnections: Int
        /// Open connections from one client address; 0 for no limit.
        var maxConnectionsPerClient: Int
        /// Seconds a request may take from the connection's start (first request) or its first byte (later ones); 0 for none.
        var requestTimeoutSeconds: Double
    }

    /// Counts since the server was made.
    struct Counts: Sendable, Equatable {
        var open = 0
        /// Connections closed to make room for a new client when every slot was taken.
        var evicted = 0
        var refusedTotal = 0
        var refusedPerClient = 0
        var timedOut = 0
    }

    private struct Tracked {
        let descriptor: Int32
        let client: ClientKey?
        /// When the current request's clock started: the connection's opening for its first
        /// request, the first byte seen by the sweeper for later ones.
        var since: Double
        /// True until the whole request has been received.
        var waiting = true
        /// Waiting for the connection's first request (else for a keep-alive one).
        var first = true
        /// Bytes of the current request have arrived; until then the connection is idle.
        var started = false
        /// Bytes the socket had received when the sweeper first looked after the previous request; nil before that.
        var baseline: Int64? = 0
        /// The sweeper has shut it down; MHD has yet to close it.
        var cut = false
    }

    private struct State {
        var connections: [UInt: Tracked] = [:]
        var clients = ClientTable()
        var counts = Counts()
        /// Connections shut down (by the sweeper or to make room) that MHD has not closed yet.
        var cutNotClosed = 0
    }

    let limits: Limits
    private let state = Locked(State())

    init(limits: Limits) {
        self.limits = limits
    }

    var counts: Counts {
        state.withLock { $0.counts }
    }

    // MARK: - MHD callbacks

    /// Whether to serve a newly accepted connection from `address`. When every slot is taken, a
    /// new client still gets in: the connection that has waited longest for its request (idle or
    /// trickling) of the address holding the most connections is closed to make room, or, when
    /// none waits, that address's oldest one (a stream). A client that already holds the most
    /// connections is refused instead, so no one can push the others out.
    func admit(_ address: UnsafePointer<sockaddr>?) -> Bool {
        let client = address.flatMap(ClientKey.init)
        return state.withLock { state in
            if limits.maxConnectionsPerClient > 0, let client, state.clients.count(of: client) >= limits.maxConnectionsPerClient {
                state.counts.refusedPerClient += 1
                return false
            }
            if limits.maxConnections > 0 && state.connections.count - state.cutNotClosed >= limits.maxConnections {
                guard Self.makeRoom(&state, for: client) else {
                    state.counts.refusedTotal += 1
                    return false
                }
                state.counts.evicted += 1
            }
            return true
        }
    }

    /// Shuts down one connection of the busiest address (MHD then closes it on its own thread).
    private static func makeRoom(_ state: inout State, for client: ClientKey?) -> Bool {
        guard let busiest = state.clients.busiest else { return false }
        if let client, state.clients.count(of: client) >= busiest.count { return false }
        var victim: (key: UInt, tracked: Tracked)?
        for key in state.clients.connections[busiest.client] ?? [] {
            guard let tracked = state.connections[key], !tracked.cut else { continue }
            guard let current = victim else { victim = (key, tracked); continue }
            // Waiting for a request beats serving one; among equals, the oldest goes.
            if tracked.waiting != current.tracked.waiting ? tracked.waiting : tracked.since < current.tracked.since { victim = (key, tracked) }
        }
        guard let victim else { return false }
        shutdown(victim.tracked.descriptor, Int32(SHUT_RDWR))
        state.connections[victim.key]?.cut = true
        state.cutNotClosed += 1
        return true
    }

    func opened(_ connection: OpaquePointer, descriptor: Int32, address: UnsafePointer<sockaddr>?, now: Double) {
        let client = address.flatMap(ClientKey.init)
        state.withLock { state in
            state.connections[Self.key(connection)] = Tracked(descriptor: descriptor, client: client, since: now)
            if let client { state.clients.add(Self.key(connection), of: client) }
            state.counts.open = state.connections.count
        }
    }

    func closed(_ connection: OpaquePointer) {
        state.withLock { state in
            guard let tracked = state.connections.removeValue(forKey: Self.key(connection)) else { return }
            if tracked.cut { state.cutNotClosed -= 1 }
            if let client = tracked.client { state.clients.remove(Self.key(connection), of: client) }
            state.counts.open = state.connections.count
        }
    }

    /// The request on `connection` has been read in full (or answered early): its clock stops.
    func received(_ connection: OpaquePointer) {
        state.withLock { state in
            state.connections[Self.key(connection)]?.waiting = false
        }
    }

    /// The request on `connection` is over; the clock of the next one (keep-alive) starts.
    func completed(_ connection: OpaquePointer, now: Double) {
        state.withLock { state in
            let key = Self.key(connection)
            guard var tracked = state.connections[key] else { return }
            tracked.waiting = true
            tracked.first = false
            tracked.started = false
            tracked.baseline = nil
            tracked.since = now
            state.connections[key] = tracked
        }
    }

    // MARK: - Sweeper

    /// Shuts down every connection whose request is not in by its deadline; returns how many.
    @discardableResult
    func sweep(now: Double) -> Int {
        guard limits.requestTimeoutSeconds > 0 else { return 0 }
        return state.withLock { state in
            var cut = 0
            for (key, original) in state.connections where original.waiting && !original.cut {
                var tracked = original
                if !tracked.started {
                    Self.notice(&tracked, received: pe_tcp_bytes_received(tracked.descriptor), now: now)
                }
                if tracked.started && now - tracked.since >= limits.requestTimeoutSeconds {
                    // MHD reads end-of-file next and closes the connection on its own thread.
                    shutdown(tracked.descriptor, Int32(SHUT_RDWR))
                    tracked.cut = true
                    state.cutNotClosed += 1
                    cut += 1
                }
                state.connections[key] = tracked
            }
            state.counts.timedOut += cut
            return cut
        }
    }

    /// Whether bytes of a request have arrived since the connection began waiting for it.
    private static func notice(_ tracked: inout Tracked, received: Int64, now: Double) {
        guard received >= 0 else {
            // No byte count (not TCP?): every waiting connection is on the clock.
            tracked.started = true
            return
        }
        guard let baseline = tracked.baseline else {
            tracked.baseline = received
            return
        }
        if received > baseline {
            tracked.started = true
            // A first request is timed from the connection's opening, later ones from their first byte.
            if !tracked.first { tracked.since = now }
        }
    }

    private static func key(_ connection: OpaquePointer) -> UInt {
        UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(connection)))
    }
}

/// A client's IP address without its port; IPv4-mapped IPv6 addresses count as IPv4.
struct ClientKey: Hashable, Sendable {
    let high: UInt64
    let low: UInt64

    init?(_ address: UnsafePointer<sockaddr>) {
        switch Int32(address.pointee.sa_family) {
        case AF_INET:
            let raw = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr.s_addr }
            self.init(mappedIPv4: UInt32(bigEndian: raw))
        case AF_INET6:
            var bytes = address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee.sin6_addr }
            let words = withUnsafeBytes(of: &bytes) { raw in
                (raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self).bigEndian,
                 raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self).bigEndian)
            }
            self.init(high: words.0, low: words.1)
        default:
            return nil
        }
    }

    /// `::ffff:a.b.c.d`, the form a dual-stack socket reports IPv4 clients in.
    init(mappedIPv4 address: UInt32) {
        self.init(high: 0, low: 0xFFFF_0000_0000 | UInt64(address))
    }

    init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }
}
