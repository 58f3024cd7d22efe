import Foundation

/// Log lines on standard error in the logfmt style of Prometheus's own tools.
public enum Log {
    public static func info(_ message: String, _ fields: KeyValuePairs<String, String> = [:]) { write("info", message, fields) }
    public static func warn(_ message: String, _ fields: KeyValuePairs<String, String> = [:]) { write("warn", message, fields) }
    public static func error(_ message: String, _ fields: KeyValuePairs<String, String> = [:]) { write("error", message, fields) }

    private static func write(_ level: String, _ message: String, _ fields: KeyValuePairs<String, String>) {
        var line = "ts=\(Date().ISO8601Format()) level=\(level) msg=\(quote(message))"
        for (key, value) in fields { line += " \(key)=\(quote(value))" }
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    private static func quote(_ text: String) -> String {
        guard text.contains(where: { $0 == " " || $0 == "\"" || $0 == "=" || $0 == "\n" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n") + "\""
    }
}
