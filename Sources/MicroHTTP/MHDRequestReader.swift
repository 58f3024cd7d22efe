import CMicroHTTPD
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads the parts of a request that MHD has already parsed and decoded.
enum MHDRequestReader {
    private struct Collected {
        var values: [String: String] = [:]
        let lowercasingNames: Bool
    }

    /// Headers or query arguments; repeated headers are joined, repeated arguments keep the first.
    static func values(of kind: MHD_ValueKind, connection: OpaquePointer, lowercasingNames: Bool) -> [String: String] {
        var collected = Collected(lowercasingNames: lowercasingNames)
        withUnsafeMutablePointer(to: &collected) { pointer in
            _ = MHD_get_connection_values(connection, kind, { cls, kind, key, value in
                guard let cls, let key else { return .YES }
                let collected = cls.assumingMemoryBound(to: Collected.self)
                var name = collected.pointee.lowercasingNames ? String(cString: key).lowercased() : String(cString: key)
                var text = value.map { String(cString: $0) } ?? ""
                // MHD leaves arguments escaped (pe_mhd_keep_escaped); headers never are.
                if kind == .GET_ARGUMENT_KIND {
                    name = PercentDecoding.decode(name)
                    text = PercentDecoding.decode(text)
                }
                if let earlier = collected.pointee.values[name] {
                    if kind == .HEADER_KIND { collected.pointee.values[name] = earlier + ", " + text }
                } else {
                    collected.pointee.values[name] = text
                }
                return .YES
            }, pointer)
        }
        return collected.values
    }

    /// Every value of one header, in the order sent (names compared case-insensitively, in C, so
    /// the other headers of a request cost no String).
    static func all(_ name: String, connection: OpaquePointer) -> [String] {
        name.withCString { name in
            var collected = (name: name, values: [String]())
            withUnsafeMutablePointer(to: &collected) { pointer in
                _ = MHD_get_connection_values(connection, .HEADER_KIND, { cls, _, key, value in
                    guard let cls, let key else { return .YES }
                    let collected = cls.assumingMemoryBound(to: (name: UnsafePointer<CChar>, values: [String]).self)
                    if strcasecmp(key, collected.pointee.name) == 0 {
                        collected.pointee.values.append(value.map { String(cString: $0) } ?? "")
                    }
                    return .YES
                }, pointer)
            }
            return collected.values
        }
    }

    /// The first header that no HTTP/1.1 parser should accept, described for a 400: a name that is
    /// not a token (whitespace before the colon, RFC 9112 section 5.1, which a proxy may read as
    /// another header), or a value holding NUL, CR or LF. Read with lengths, so a NUL cannot hide the rest.
    static func malformedHeader(connection: OpaquePointer) -> String? {
        var problem: String?
        withUnsafeMutablePointer(to: &problem) { pointer in
            _ = MHD_get_connection_values_n(connection, .HEADER_KIND, { cls, _, key, keySize, value, valueSize in
                guard let cls, let key else { return .YES }
                let problem = cls.assumingMemoryBound(to: String?.self)
                let name = UnsafeRawBufferPointer(start: key, count: keySize)
                if name.isEmpty || !name.allSatisfy(MHDRequestReader.isTokenByte) {
                    let shown = String(decoding: name.prefix(40), as: UTF8.self).debugDescription
                    problem.pointee = "header name \(shown) is not a token (no whitespace before the colon, RFC 9112 section 5.1)"
                    return .NO
                }
                if let value, UnsafeRawBufferPointer(start: value, count: valueSize).contains(where: { $0 == 0 || $0 == 10 || $0 == 13 }) {
                    problem.pointee = "the value of header \(String(decoding: name.prefix(40), as: UTF8.self)) holds a NUL, CR or LF byte"
                    return .NO
                }
                return .YES
            }, pointer)
        }
        return problem
    }

    /// tchar of RFC 9110 section 5.6.2.
    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
        default: "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }

    static func remoteAddress(_ connection: OpaquePointer) -> String? {
        guard let address = pe_mhd_client_address(connection) else { return nil }
        return SocketAddressText.text(of: address)
    }
}
