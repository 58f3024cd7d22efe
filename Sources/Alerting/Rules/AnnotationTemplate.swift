/// Expands `{{name}}` placeholders in annotations: `job` and `job_name` (the job id), `agent`, `value`,
/// `threshold`, and any label.
enum AnnotationTemplate {
    /// Every alert that fires is expanded for its notification, so an alert storm expands thousands at
    /// once: the placeholders are found on the UTF-8 bytes, not with Foundation's string search.
    static func expand(_ template: String, labels: [String: String], values: AnnotationValues) -> String {
        var out = ""
        var rest = Substring(template)
        while let open = find(UInt8(ascii: "{"), in: rest) {
            out += rest[..<open]
            let inner = rest[rest.utf8.index(open, offsetBy: 2)...]
            guard let close = find(UInt8(ascii: "}"), in: inner) else {
                out += rest[open...]
                return out
            }
            let name = trimmed(inner[..<close])
            // `{{job}}` is the job id, as documented before the label became `job_name`, even when a
            // rule adds a label named `job`.
            out += values[name] ?? (name == AlertLabels.deprecatedJob ? labels[AlertLabels.job] : labels[name]) ?? ""
            rest = inner[inner.utf8.index(close, offsetBy: 2)...]
        }
        return out + rest
    }

    /// Where `brace` first appears twice in a row in `text`.
    private static func find(_ brace: UInt8, in text: Substring) -> String.Index? {
        let bytes = text.utf8
        var index = bytes.startIndex
        while index != bytes.endIndex {
            let next = bytes.index(after: index)
            if bytes[index] == brace, next != bytes.endIndex, bytes[next] == brace { return index }
            index = next
        }
        return nil
    }

    /// `text` without leading and trailing spaces and tabs (Foundation's `.whitespaces`: the Zs
    /// category and U+0009).
    private static func trimmed(_ text: Substring) -> String {
        func isSpace(_ scalar: Unicode.Scalar) -> Bool { scalar == "\t" || scalar.properties.generalCategory == .spaceSeparator }
        let scalars = text.unicodeScalars
        guard let first = scalars.firstIndex(where: { !isSpace($0) }) else { return "" }
        let last = scalars.lastIndex(where: { !isSpace($0) })!
        return String(scalars[first...last])
    }
}
