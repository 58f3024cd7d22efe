/// An HTTP response: status, headers and either a byte body or a stream.
public struct HTTPResponse: Sendable {
    /// One response header.
    public struct Header: Sendable, Equatable {
        public var name: String
        public var value: String

        public init(_ name: String, _ value: String) {
            self.name = name
            self.value = value
        }
    }

    /// What follows the headers.
    public enum Body: Sendable {
        /// A body known in full; sent with a `Content-Length`, without copying.
        case bytes([UInt8])
        /// A body known in full but held in several buffers; sent like `bytes`, without joining them.
        case pieces(ResponsePieces)
        /// A body written while it is sent, with chunked transfer encoding.
        case stream(HTTPStream)
    }

    public var status: Int
    public var headers: [Header]
    public var body: Body

    public init(status: Int = 200, headers: [Header] = [], body: Body = .bytes([])) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The body bytes (pieces joined), or nil for a stream.
    public var bodyBytes: [UInt8]? {
        switch body {
        case .bytes(let bytes): return bytes
        case .pieces(let pieces): return pieces.joined
        case .stream: return nil
        }
    }

    /// The first value of a header, by case-insensitive name.
    public func header(_ name: String) -> String? {
        let lowered = name.lowercased()
        return headers.first { $0.name.lowercased() == lowered }?.value
    }

    /// Returns a copy with one more header.
    public func adding(header name: String, _ value: String) -> HTTPResponse {
        var copy = self
        copy.headers.append(Header(name, value))
        return copy
    }

    public static func bytes(_ bytes: [UInt8], contentType: String, status: Int = 200) -> HTTPResponse {
        HTTPResponse(status: status, headers: [Header("Content-Type", contentType)], body: .bytes(bytes))
    }

    public static func text(_ text: String, status: Int = 200) -> HTTPResponse {
        .bytes(Array(text.utf8), contentType: "text/plain; charset=utf-8", status: status)
    }

    public static func json(_ bytes: [UInt8], status: Int = 200) -> HTTPResponse {
        .bytes(bytes, contentType: "application/json", status: status)
    }

    public static func json(_ text: String, status: Int = 200) -> HTTPResponse {
        .json(Array(text.utf8), status: status)
    }

    /// A response whose body is written to `stream` after the handler returns.
    public static func stream(_ stream: HTTPStream, contentType: String, status: Int = 200) -> HTTPResponse {
        HTTPResponse(status: status, headers: [Header("Content-Type", contentType)], body: .stream(stream))
    }
}
