import Foundation
import Events
import MicroHTTP
import Tracking

/// The query of `GET /api/v1/jobs/{job}/agents` (`state`, `sort`, `limit`, `cursor`), read strictly:
/// anything it cannot use is a 400 that says why (docs/openapi.yaml is the contract).
enum AgentListQuery {
    static let defaultLimit = 500
    static let maxLimit = 5000

    struct Invalid: Error {
        let message: String
    }

    static func parse(_ parameters: [String: String]) throws(Invalid) -> AgentQuery {
        let limit: Int
        do {
            limit = try PagedList.limit(parameters, defaultLimit: defaultLimit, maxLimit: maxLimit)
        } catch {
            throw Invalid(message: error.message)
        }
        var sort = AgentQuery.SortKey.agent
        var descending = false
        if var text = parameters["sort"] {
            if text.hasPrefix("-") {
                descending = true
                text.removeFirst()
            }
            guard let key = AgentQuery.SortKey(rawValue: text) else {
                throw Invalid(message: "sort must be one of \(AgentQuery.SortKey.allCases.map(\.rawValue).joined(separator: ", ")), each optionally with - for descending")
            }
            sort = key
        }
        var states: Set<String>?
        if let text = parameters["state"] {
            let names = text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            let known = Set(AgentState.allCases.map(\.rawValue))
            if let unknown = names.first(where: { !known.contains($0) }) {
                throw Invalid(message: "state \"\(unknown.prefix(40))\" is not an agent state (\(AgentState.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            states = Set(names)
        }
        var query = AgentQuery(states: states, sort: sort, descending: descending, limit: limit)
        if let text = parameters["cursor"] {
            query.after = try cursor(text, for: query)
        }
        return query
    }

    /// An opaque cursor: base64url of `1|<sort>|<a or d>|<value's bits, hex>|<agent>`.
    static func encode(_ cursor: AgentCursor, for query: AgentQuery) -> String {
        let text = "1|\(query.sort.rawValue)|\(query.descending ? "d" : "a")|\(String(cursor.value.bitPattern, radix: 16))|\(cursor.agent)"
        return PagedList.base64URLEncode(Array(text.utf8))
    }

    private static func cursor(_ text: String, for query: AgentQuery) throws(Invalid) -> AgentCursor {
        let bad = Invalid(message: "cursor is not one this server gave for this sort (take next_cursor from the previous answer, with the same sort)")
        guard text.count <= 8192 else { throw bad }
        guard let bytes = PagedList.base64URLDecode(text), let decoded = String(validating: bytes, as: UTF8.self) else { throw bad }
        let parts = decoded.split(separator: "|", maxSplits: 4, omittingEmptySubsequences: false)
        guard parts.count == 5, parts[0] == "1", parts[1] == query.sort.rawValue, parts[2] == (query.descending ? "d" : "a"),
              let bits = UInt64(parts[3], radix: 16) else { throw bad }
        return AgentCursor(value: Double(bitPattern: bits), agent: String(parts[4]))
    }
}
