#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The secret that POST /events must present as `Authorization: Bearer <token>`.
///
/// It is compared byte for byte in time that does not depend on where the bytes differ, and it never
/// prints: its description, debug description and mirror are `<redacted>`, so neither a log line
/// nor an error that interpolates the options can carry it. It is not Equatable on purpose: the only
/// comparison is `isPresented(in:)`.
public struct BearerToken: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// Why a token file was refused. Says nothing about the token's bytes.
    public enum Problem: Error, Equatable, CustomStringConvertible {
        case unreadable(String)
        case empty
        case notVisibleASCII(offset: Int)

        public var description: String {
            switch self {
            case .unreadable(let reason): return "cannot read the token file: \(reason)"
            case .empty: return "the token file is empty (a token is needed; a trailing newline does not count)"
            case .notVisibleASCII(let offset):
                return "the token holds a space, control or non-ASCII byte at offset \(offset); an HTTP header cannot carry it reliably, so it could never match"
            }
        }
    }

    private let bytes: [UInt8]

    /// A token from the contents of a token file: trailing line breaks (`\n`, `\r\n`) are dropped;
    /// empty is refused, and so is any byte outside visible ASCII (0x21-0x7E).
    public init(fileContents: [UInt8]) throws(Problem) {
        var bytes = fileContents[...]
        while let last = bytes.last, last == UInt8(ascii: "\n") || last == UInt8(ascii: "\r") { bytes = bytes.dropLast() }
        guard !bytes.isEmpty else { throw .empty }
        if let bad = bytes.firstIndex(where: { !(0x21...0x7E).contains($0) }) {
            throw .notVisibleASCII(offset: bad - bytes.startIndex)
        }
        self.bytes = Array(bytes)
    }

    /// Reads `path` (`--web.events-bearer-token-file`).
    public static func load(file path: String) throws(Problem) -> BearerToken {
        try BearerToken(fileContents: try readAll(path))
    }

    /// True when `authorization` (the header's value) is `Bearer <token>`: the scheme in any case
    /// (RFC 9110 section 11.1), one or more spaces, then exactly the token's bytes.
    public func isPresented(in authorization: String?) -> Bool {
        guard let authorization else { return false }
        let value = Array(authorization.utf8)
        let scheme = Array("bearer".utf8)
        guard value.count > scheme.count, value[scheme.count] == UInt8(ascii: " ") else { return false }
        for index in scheme.indices where value[index] | 0x20 != scheme[index] { return false }
        var start = scheme.count
        while start < value.count, value[start] == UInt8(ascii: " ") { start += 1 }
        return Self.constantTimeEqual(bytes, value[start...])
    }

    /// Byte-wise equality whose time depends only on the lengths, never on the position of the first
    /// difference (no early exit, no branch on the bytes).
    static func constantTimeEqual(_ expected: [UInt8], _ given: ArraySlice<UInt8>) -> Bool {
        var difference: UInt8 = expected.count == given.count ? 0 : 1
        // Always walk the expected token's length, whatever was sent.
        for offset in 0..<expected.count {
            let index = given.startIndex + offset
            let byte = index < given.endIndex ? given[index] : ~expected[offset]
            difference |= expected[offset] ^ byte
        }
        return difference == 0
    }

    /// `Bearer <token>`, for a request the exporter makes itself (`--events.sse-bearer-token-file`);
    /// internal, so only the exporter's own wiring can reveal it.
    var authorizationHeaderValue: String { "Bearer " + secret }

    /// The token itself, for a client that sends it its own way (a NATS token).
    public var secret: String { String(decoding: bytes, as: UTF8.self) }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
    public var customMirror: Mirror { Mirror(self, children: [:], displayStyle: .struct) }

    private static func readAll(_ path: String) throws(Problem) -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .unreadable(String(cString: strerror(errno))) }
        defer { close(descriptor) }
        var contents: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw .unreadable(String(cString: strerror(errno)))
            }
            if count == 0 { return contents }
            contents.append(contentsOf: chunk[..<count])
            // A token is short; a huge file is a mistake (or /dev/zero).
            if contents.count > 1 << 16 { throw .unreadable("larger than 64 KiB; a token file holds one token") }
        }
    }
}
