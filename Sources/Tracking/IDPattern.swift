import Foundation

/// A regular expression that must match a whole job or agent id, compiled once.
public struct IDPattern: Sendable {
    public let source: String
    private let regex: RegexBox

    /// Throws when `source` is not a valid regular expression.
    public init(_ source: String) throws {
        self.source = source
        regex = RegexBox(try NSRegularExpression(pattern: "^(?:\(source))$"))
    }

    public func matches(_ id: String) -> Bool {
        regex.value.firstMatch(in: id, range: NSRange(id.startIndex..., in: id)) != nil
    }
}

/// NSRegularExpression is immutable and safe to share, but not marked Sendable on Linux.
private final class RegexBox: @unchecked Sendable {
    let value: NSRegularExpression
    init(_ value: NSRegularExpression) { self.value = value }
}
