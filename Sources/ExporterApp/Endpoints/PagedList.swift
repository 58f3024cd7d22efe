import Foundation
import MicroHTTP

/// Paging of a list ordered by a text key (UTF-8 byte order): `limit` and an opaque `cursor` that
/// names the last key of the previous page, for `/api/v1/jobs` and `/api/v1/alerts`
/// (docs/openapi.yaml). The answer carries `total` and, when there is more, `next_cursor`.
struct PagedList {
    static let defaultLimit = 500
    static let maxLimit = 5000

    let limit: Int
    let after: [UInt8]?
    /// Which list a cursor belongs to: one from another list is refused.
    let scope: String

    struct Invalid: Error {
        let message: String
    }

    /// `limit` from 1 to `maxLimit` (default `defaultLimit`); anything else says why.
    static func limit(_ parameters: [String: String], defaultLimit: Int = defaultLimit, maxLimit: Int = maxLimit) throws(Invalid) -> Int {
        guard let text = parameters["limit"] else { return defaultLimit }
        guard text.utf8.count <= 12, let value = Int(text), value >= 1 else {
            throw Invalid(message: "limit must be a whole number from 1 to \(maxLimit), not \"\(text.prefix(40))\"")
        }
        guard value <= maxLimit else { throw Invalid(message: "limit \(value) is over the maximum of \(maxLimit)") }
        return value
    }

    init(_ parameters: [String: String], scope: String) throws(Invalid) {
        self.scope = scope
        limit = try Self.limit(parameters)
        guard let text = parameters["cursor"] else {
            after = nil
            return
        }
        let bad = Invalid(message: "cursor is not one this server gave for this list (take next_cursor from the previous answer)")
        guard text.utf8.count <= 8192, let decoded = Self.base64URLDecode(text), decoded.starts(with: Array((scope + "|").utf8)) else { throw bad }
        after = Array(decoded.dropFirst(scope.utf8.count + 1))
    }

    /// The page of `items` (ordered by `key`, ascending bytes) after the cursor, with the total and
    /// the next cursor.
    func page<T>(_ items: [T], key: (T) -> [UInt8]) -> (items: [T], total: Int, next: String?) {
        // Each key once: strictly after the cursor's.
        let rest = after.map { after in items.filter { after.lexicographicallyPrecedes(key($0)) } } ?? items
        guard rest.count > limit else { return (rest, items.count, nil) }
        let shown = Array(rest.prefix(limit))
        return (shown, items.count, Self.base64URLEncode(Array((scope + "|").utf8) + key(shown[shown.count - 1])))
    }

    static func base64URLEncode(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    static func base64URLDecode(_ text: String) -> [UInt8]? {
        guard text.utf8.allSatisfy({ $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) }) else { return nil }
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        return Data(base64Encoded: base64).map { Array($0) }
    }
}
