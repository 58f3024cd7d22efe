import CRE2

/// A regular expression (RE2 syntax, as Prometheus uses) that must match a whole job or agent id,
/// compiled once. RE2 matches in time linear in the id's length whatever the pattern, so a pattern
/// from a config file or a flag cannot make a scrape or a rule evaluation backtrack for seconds.
public struct IDPattern: Sendable {
    /// Why RE2 refused a pattern: the pattern and RE2's reason, e.g. `missing ): (a`.
    public struct Invalid: Error, CustomStringConvertible, Sendable {
        public let pattern: String
        public let reason: String
        public var description: String { "\"\(pattern)\" is not a valid regular expression: \(reason)" }
    }

    public let source: String
    private let compiled: CompiledRE2

    /// Throws `Invalid` when RE2 refuses `source`.
    public init(_ source: String) throws(Invalid) {
        self.source = source
        var error: UnsafeMutablePointer<CChar>?
        var bytes = source
        let pattern = bytes.withUTF8 { utf8 in
            utf8.withMemoryRebound(to: CChar.self) { pe_re2_compile($0.baseAddress, $0.count, &error) }
        }
        guard let pattern else {
            let reason = error.map { String(cString: $0) } ?? "unknown error"
            pe_re2_free_error(error)
            throw Invalid(pattern: source, reason: reason)
        }
        compiled = CompiledRE2(pattern)
    }

    /// True when the whole id matches (RE2 full match: `^(?:pattern)$` with no multi-line `$`).
    public func matches(_ id: String) -> Bool {
        var id = id
        return id.withUTF8 { utf8 in
            utf8.withMemoryRebound(to: CChar.self) { pe_re2_full_match(compiled.pointer, $0.baseAddress, $0.count) == 1 }
        }
    }
}

/// Owns one compiled RE2 object. RE2 objects are immutable after construction and documented as
/// safe to match from many threads at once (their lazily built DFA cache has its own lock), so
/// sharing the pointer is sound; a Swift lock around it would only serialize concurrent scrapes.
private final class CompiledRE2: @unchecked Sendable {
    let pointer: OpaquePointer

    init(_ pointer: OpaquePointer) { self.pointer = pointer }

    deinit { pe_re2_free(pointer) }
}
