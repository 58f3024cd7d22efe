#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A parsed listen address in the Prometheus exporter style: `:9464`, `0.0.0.0:9464`, `[::1]:9464`, `localhost:9464`.
public struct ListenAddress: Sendable, Equatable, CustomStringConvertible {
    /// Where to listen.
    public enum Host: Sendable, Equatable {
        /// Every interface: IPv6 and IPv4 where the machine has IPv6, else IPv4.
        case any
        case ipv4(String)
        case ipv6(String)
        /// A name resolved when the server starts.
        case name(String)
    }

    public var host: Host
    /// 0 asks the system for a free port.
    public var port: UInt16

    public init(host: Host, port: UInt16) {
        self.host = host
        self.port = port
    }

    /// Parses `host:port`; an IPv6 host needs brackets and an empty host means every interface.
    public init(parsing text: String) throws(HTTPServerError) {
        func invalid(_ reason: String) -> HTTPServerError {
            .invalidListenAddress(text, reason: reason)
        }
        let hostPart: Substring
        let portPart: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw invalid("missing \"]\" after the IPv6 address") }
            hostPart = text[text.index(after: text.startIndex) ..< close]
            let rest = text[text.index(after: close)...]
            guard rest.first == ":" else { throw invalid("missing \":port\" after \"]\"") }
            portPart = rest.dropFirst()
            guard Self.isIPv6(hostPart) else { throw invalid("\"\(hostPart)\" is not an IPv6 address") }
            host = .ipv6(String(hostPart))
        } else {
            guard let colon = text.lastIndex(of: ":") else {
                throw invalid("missing \":port\" (for example :9465 or 127.0.0.1:9465)")
            }
            hostPart = text[..<colon]
            portPart = text[text.index(after: colon)...]
            if hostPart.contains(":") {
                throw invalid("an IPv6 address needs brackets, like [::1]:9465")
            } else if hostPart.isEmpty {
                host = .any
            } else if Self.isIPv4(hostPart) {
                host = .ipv4(String(hostPart))
            } else if Self.isHostName(hostPart) {
                host = .name(String(hostPart))
            } else {
                throw invalid("\"\(hostPart)\" is neither an IP address nor a host name")
            }
        }
        guard !portPart.isEmpty, portPart.allSatisfy({ $0.isASCII && $0.isNumber }),
              let port = UInt16(portPart)
        else {
            throw invalid("port \"\(portPart)\" is not a number from 0 to 65535")
        }
        self.port = port
    }

    public var description: String {
        switch host {
        case .any: ":\(port)"
        case .ipv4(let address), .name(let address): "\(address):\(port)"
        case .ipv6(let address): "[\(address)]:\(port)"
        }
    }

    static func isIPv4(_ text: Substring) -> Bool {
        var address = in_addr()
        return inet_pton(AF_INET, String(text), &address) == 1
    }

    static func isIPv6(_ text: Substring) -> Bool {
        var address = in6_addr()
        return inet_pton(AF_INET6, String(text), &address) == 1
    }

    // Dotted digits that failed as IPv4 (like 256.0.0.1) are a typo, not a name.
    static func isHostName(_ text: Substring) -> Bool {
        let labels = text.split(separator: ".", omittingEmptySubsequences: false)
        let wellFormed = labels.allSatisfy { label in
            !label.isEmpty && label.count <= 63 && label.first != "-" && label.last != "-"
                && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
        }
        let allNumeric = labels.allSatisfy { $0.allSatisfy(\.isNumber) }
        return wellFormed && !allNumeric
    }
}
