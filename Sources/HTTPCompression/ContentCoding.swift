/// The content codings the server can apply to a response body, chosen from a request's Accept-Encoding.
public enum ContentCoding: String, Sendable, Equatable {
    case identity
    case gzip

    /// Picks gzip when Accept-Encoding (RFC 9110, section 12.5.3) gives it a non-zero weight, by name
    /// (`gzip`, `x-gzip`) or else through `*`, and no lower than a weight the header gives identity
    /// (by name or through `*`); identity otherwise.
    /// An absent header, `gzip;q=0`, or a weight that does not parse means identity.
    public static func negotiate(acceptEncoding: String?) -> ContentCoding {
        guard let acceptEncoding else { return .identity }
        var gzip: Double?
        var identity: Double?
        var wildcard: Double?
        for element in acceptEncoding.split(separator: ",") {
            let fields = element.split(separator: ";")
            guard let name = fields.first.map({ $0.trimmingWhitespace().lowercased() }), !name.isEmpty else { continue }
            let weight = Self.weight(fields.dropFirst())
            switch name {
            case "gzip", "x-gzip": gzip = max(gzip ?? 0, weight)
            case "identity": identity = weight
            case "*": wildcard = weight
            default: continue
            }
        }
        let gzipWeight = gzip ?? wildcard ?? 0
        // Unnamed identity stays acceptable (section 12.5.3) but states no preference over gzip.
        let identityWeight = identity ?? wildcard ?? 0
        return gzipWeight > 0 && gzipWeight >= identityWeight ? .gzip : .identity
    }

    /// The `q` parameter: a number 0...1 with at most three decimals; 1 when absent, 0 when malformed.
    private static func weight(_ parameters: ArraySlice<Substring>) -> Double {
        for parameter in parameters {
            let pair = parameter.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map { $0.trimmingWhitespace() }
            guard pair.count == 2, pair[0].lowercased() == "q" else { continue }
            let text = pair[1]
            let fraction = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
            let wellFormed = (text.first == "0" || text.first == "1") && fraction[0].count == 1
                && (fraction.count == 1 || fraction[1].count <= 3 && fraction[1].allSatisfy(\.isASCIIDigit))
            guard wellFormed, let value = Double(text), value <= 1 else { return 0 }
            return value
        }
        return 1
    }
}

extension Substring {
    fileprivate func trimmingWhitespace() -> Substring {
        var s = self
        while s.first == " " || s.first == "\t" { s = s.dropFirst() }
        while s.last == " " || s.last == "\t" { s = s.dropLast() }
        return s
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}
