import Foundation

/// The one logfmt writer of the exporter's log lines and of the alert log receiver: the quoting of
/// go-logfmt (what Prometheus's go-kit and slog loggers write) and one timestamp format.
public enum Logfmt {
    /// A value as logfmt writes it: bare when it can be, else in double quotes. Quoted are empty
    /// values and values with a space, a control character, `=` or `"`; inside quotes `\` and `"` are
    /// escaped, `\n`, `\r` and `\t` written as such, other control characters as `\u00XX`. Non-ASCII
    /// text stays as it is (UTF-8), as go-logfmt leaves it.
    public static func value(_ text: String) -> String {
        guard text.isEmpty || text.unicodeScalars.contains(where: needsQuotes) else { return text }
        var quoted = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": quoted += "\\\\"
            case "\"": quoted += "\\\""
            case "\n": quoted += "\\n"
            case "\r": quoted += "\\r"
            case "\t": quoted += "\\t"
            case _ where isControl(scalar):
                quoted += "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count) + String(scalar.value, radix: 16)
            default: quoted.unicodeScalars.append(scalar)
            }
        }
        return quoted + "\""
    }

    /// `key=value` pairs joined by spaces, each value through `value(_:)`.
    public static func line(_ pairs: [(key: String, value: String)]) -> String {
        pairs.map { "\($0.key)=\(value($0.value))" }.joined(separator: " ")
    }

    /// RFC 3339 in UTC with milliseconds, `2023-11-14T22:13:20.123Z`, as Prometheus's `ts=`; rounded
    /// to the nearest millisecond (integer arithmetic, so .123 stays .123 despite binary fractions).
    public static func timestamp(_ seconds: Double) -> String {
        let totalMillis = Int64((seconds * 1000).rounded())
        var wholeSeconds = totalMillis / 1000
        var millis = totalMillis % 1000
        if millis < 0 { millis += 1000; wholeSeconds -= 1 }
        let day = Date(timeIntervalSince1970: Double(wholeSeconds)).formatted(.iso8601)  // "2023-11-14T22:13:20Z"
        let digits = String(millis)
        return day.dropLast() + "." + String(repeating: "0", count: 3 - digits.count) + digits + "Z"
    }

    private static func needsQuotes(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value <= 0x20 || scalar == "=" || scalar == "\"" || isControl(scalar)
    }

    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || scalar.value == 0x7F || (0x80...0x9F).contains(scalar.value)
    }
}
