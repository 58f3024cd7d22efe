/// Checks the headers that frame a request body (RFC 9112 section 6) before any of it is read.
///
/// libmicrohttpd 0.9.75 frames a body by the first `Content-Length` header and ignores any
/// further one, and lets `Transfer-Encoding` win over `Content-Length` silently. A proxy in front
/// that frames by another of them reads a different body, and the rest of the bytes become the
/// next request (request smuggling). So a request whose framing headers disagree is refused with
/// 400 and its connection closed, as RFC 9112 section 6.3 allows.
enum RequestFraming: Equatable {
    /// The body's declared length, or nil when there is none (no body, or chunked).
    case length(UInt64?)
    /// Refused with 400; the reason goes in the answer.
    case refused(String)
    /// Refused with 501: a transfer coding this server does not implement.
    case unsupported(String)

    /// `contentLengths` and `transferEncodings` are every value of those headers, in order.
    /// Repeated `Content-Length` headers with the same number are one length (RFC 9112 section 6.3
    /// allows a recipient to treat them so); different numbers, a value that is not a plain
    /// decimal number, or `Content-Length` next to `Transfer-Encoding` are refused.
    static func check(contentLengths: [String], transferEncodings: [String]) -> RequestFraming {
        if !contentLengths.isEmpty && !transferEncodings.isEmpty {
            return .refused("a request may not carry both Transfer-Encoding and Content-Length")
        }
        // Only `chunked` alone frames a body here; any other coding, a list, or a repeated header
        // would be read differently by different parsers (RFC 9112 section 6.1: 501 for codings
        // the server does not understand).
        // libmicrohttpd 0.9.75 frames by chunks only for the value exactly `chunked` (any case): with
        // whitespace around it, it would wait for the connection to close instead.
        if !transferEncodings.isEmpty {
            guard transferEncodings.count == 1, transferEncodings[0].lowercased() == "chunked" else {
                return .unsupported("Transfer-Encoding \"\(transferEncodings.joined(separator: ", ").prefix(60))\" is not supported: only chunked alone")
            }
        }
        var length: UInt64?
        for value in contentLengths {
            let trimmed = value.trimmingOptionalWhitespace()
            guard !trimmed.isEmpty, trimmed.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }),
                  let number = UInt64(trimmed) else {
                return .refused("Content-Length \"\(trimmed.prefix(40))\" is not a decimal number of bytes")
            }
            if let length, length != number {
                return .refused("conflicting Content-Length headers: \(contentLengths.map { $0.trimmingOptionalWhitespace().prefix(40) }.joined(separator: ", "))")
            }
            length = number
        }
        return .length(length)
    }
}

extension String {
    /// Without leading and trailing spaces and tabs (HTTP's optional whitespace).
    fileprivate func trimmingOptionalWhitespace() -> Substring {
        let isWhitespace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = firstIndex(where: { !isWhitespace($0) }), let last = lastIndex(where: { !isWhitespace($0) }) else { return "" }
        return self[first...last]
    }
}
