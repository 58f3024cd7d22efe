/// An answer read whole (up to `limit` bytes of body) with the header fields of its final status line.
public final class CollectedResponse: HTTPResponseReceiver {
    /// Body bytes kept at most.
    public let limit: Int
    /// With `keepsReading`, bytes past the limit are read and dropped (an error message's excerpt);
    /// without it, a longer body ends the transfer and sets `tooLarge`.
    public let keepsReading: Bool
    public private(set) var body: [UInt8] = []
    public private(set) var tooLarge = false
    /// The empty line after the header fields came: a connection closed in the middle of them is no answer.
    public private(set) var headersComplete = false
    /// The header fields of the last (final) answer, names in lower case, values trimmed.
    public private(set) var fields: [(name: String, value: String)] = []

    public init(limit: Int, keepsReading: Bool = false) {
        self.limit = limit
        self.keepsReading = keepsReading
    }

    /// The first field of that name (case-insensitive).
    public func field(_ name: String) -> String? {
        let wanted = name.lowercased()
        return fields.first { $0.name == wanted }?.value
    }

    public func headerLine(_ line: UnsafeRawBufferPointer, status: Int) -> Bool {
        // Header lines are short; a longer one is cut for reading, never kept whole.
        let text = String(decoding: line.prefix(8192), as: UTF8.self)
        if text.hasPrefix("HTTP/") {
            // A new answer (an interim 1xx came first): what the last one said no longer counts.
            headersComplete = false
            fields = []
        } else if text == "\r\n" || text == "\n" {
            headersComplete = true
        } else if let colon = text.firstIndex(of: ":"), fields.count < 100 {
            let name = text[..<colon].lowercased()
            let value = text[text.index(after: colon)...].trimmingWhitespace()
            fields.append((name, value))
        }
        return true
    }

    public func body(_ bytes: UnsafeRawBufferPointer) -> Bool {
        let room = limit - body.count
        if bytes.count <= room {
            body.append(contentsOf: bytes)
            return true
        }
        if keepsReading {
            body.append(contentsOf: bytes.prefix(max(0, room)))
            return true
        }
        tooLarge = true
        return false
    }
}

extension StringProtocol {
    /// Without leading and trailing spaces, tabs, CR and LF.
    public func trimmingWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" || $0 == "\r\n" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[first...last])
    }
}
