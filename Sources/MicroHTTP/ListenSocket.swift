#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Opens the listening socket for a `ListenAddress`.
///
/// The server binds the socket itself rather than letting libmicrohttpd do it, because
/// `MHD_start_daemon` reports every failure as NULL, and an operator needs to read
/// "address already in use" or "permission denied".
enum ListenSocket {
    struct Opened {
        let descriptor: Int32
        let port: Int
    }

    static func open(_ address: ListenAddress) throws(HTTPServerError) -> Opened {
        let candidates: [SocketAddress]
        switch address.host {
        case .any:
            // Dual-stack first, as Go does for ":port"; IPv4 when the host lacks IPv6.
            candidates = [.ipv6(in6addr_any, address.port, v6Only: false), .ipv4(in_addr(s_addr: INADDR_ANY), address.port)]
        case .ipv4(let text):
            var raw = in_addr()
            inet_pton(AF_INET, text, &raw)
            candidates = [.ipv4(raw, address.port)]
        case .ipv6(let text):
            var raw = in6_addr()
            inet_pton(AF_INET6, text, &raw)
            candidates = [.ipv6(raw, address.port, v6Only: true)]
        case .name(let name):
            candidates = try resolve(name, port: address.port, display: address.description)
        }
        var lastError: Int32 = EADDRNOTAVAIL
        for candidate in candidates {
            switch bindAndListen(candidate) {
            case .success(let opened):
                return opened
            case .failure(let code):
                lastError = code
                // Only a missing address family moves on; "in use" must not silently
                // fall back to listening on fewer addresses.
                if ![EAFNOSUPPORT, EADDRNOTAVAIL, EPROTONOSUPPORT].contains(code) {
                    throw .listen(address.description, reason: Self.message(for: code))
                }
            }
        }
        throw .listen(address.description, reason: Self.message(for: lastError))
    }

    enum SocketAddress {
        case ipv4(in_addr, UInt16)
        case ipv6(in6_addr, UInt16, v6Only: Bool)
    }

    private enum Outcome {
        case success(Opened)
        case failure(Int32)
    }

    private static func bindAndListen(_ address: SocketAddress) -> Outcome {
        let family: Int32
        switch address {
        case .ipv4: family = AF_INET
        case .ipv6: family = AF_INET6
        }
        let descriptor = socket(family, streamType, 0)
        if descriptor < 0 { return .failure(errno) }
        func fail() -> Outcome {
            let code = errno
            close(descriptor)
            return .failure(code)
        }
        var one: Int32 = 1
        // Without SO_REUSEADDR a restart fails for minutes while old connections sit in TIME_WAIT.
        if setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size)) != 0 { return fail() }
        // MHD's worker threads share the socket, and a blocking accept would stall the loser of a race.
        if fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK) != 0 { return fail() }
        if fcntl(descriptor, F_SETFD, FD_CLOEXEC) != 0 { return fail() }
        let bound: Int32
        switch address {
        case .ipv4(let raw, let port):
            var socketAddress = sockaddr_in()
            socketAddress.sin_family = sa_family_t(AF_INET)
            socketAddress.sin_port = port.bigEndian
            socketAddress.sin_addr = raw
            bound = withUnsafePointer(to: &socketAddress) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        case .ipv6(let raw, let port, let v6Only):
            var flag: Int32 = v6Only ? 1 : 0
            if setsockopt(descriptor, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &flag, socklen_t(MemoryLayout<Int32>.size)) != 0 {
                return fail()
            }
            var socketAddress = sockaddr_in6()
            socketAddress.sin6_family = sa_family_t(AF_INET6)
            socketAddress.sin6_port = port.bigEndian
            socketAddress.sin6_addr = raw
            bound = withUnsafePointer(to: &socketAddress) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in6>.size))
                }
            }
        }
        if bound != 0 { return fail() }
        if listen(descriptor, SOMAXCONN) != 0 { return fail() }
        guard let port = localPort(descriptor) else { return fail() }
        return .success(Opened(descriptor: descriptor, port: port))
    }

    private static func localPort(_ descriptor: Int32) -> Int? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let status = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        guard status == 0 else { return nil }
        return SocketAddressText.port(of: &storage)
    }

    // IPv4 answers first: "localhost" should reach clients that dial 127.0.0.1.
    private static func resolve(_ name: String, port: UInt16, display: String) throws(HTTPServerError) -> [SocketAddress] {
        var hints = addrinfo()
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = streamType
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(name, String(port), &hints, &list)
        guard status == 0 else {
            throw .listen(display, reason: "cannot resolve \"\(name)\": \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(list) }
        var ipv4: [SocketAddress] = []
        var ipv6: [SocketAddress] = []
        var entry = list
        while let info = entry?.pointee {
            if info.ai_family == AF_INET, let address = info.ai_addr {
                let raw = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr }
                ipv4.append(.ipv4(raw, port))
            } else if info.ai_family == AF_INET6, let address = info.ai_addr {
                let raw = address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee.sin6_addr }
                ipv6.append(.ipv6(raw, port, v6Only: true))
            }
            entry = info.ai_next
        }
        if ipv4.isEmpty && ipv6.isEmpty {
            throw .listen(display, reason: "\"\(name)\" has no IP address")
        }
        return ipv4 + ipv6
    }

    static func message(for code: Int32) -> String {
        let text = String(cString: strerror(code))
        return text.prefix(1).lowercased() + text.dropFirst()
    }

    #if canImport(Glibc)
    private static let streamType = Int32(SOCK_STREAM.rawValue)
    #else
    private static let streamType = SOCK_STREAM
    #endif
}
