/// The type of a metric family, as written on its `# TYPE` line.
public enum MetricType: String, Sendable {
    case counter, gauge, histogram
}

/// One metric family: name, type and help, with its header lines rendered once for each format.
public struct MetricFamily: Sendable {
    public let name: String
    public let type: MetricType
    public let help: String
    /// Bytes of `name` (for counters: `name_total`), the prefix of every sample line.
    let sampleName: [UInt8]
    let textHeader: [UInt8]
    let openMetricsHeader: [UInt8]

    /// `name` is the full Prometheus name; a counter's name must end in `_total`.
    public init(_ name: String, _ type: MetricType, help: String) {
        precondition(type != .counter || name.hasSuffix("_total"), "counter \(name) must end in _total")
        self.name = name
        self.type = type
        self.help = help
        sampleName = Array(name.utf8)
        let escapedHelp = Self.escapeHelp(help)
        textHeader = Array("# HELP \(name) \(escapedHelp)\n# TYPE \(name) \(type.rawValue)\n".utf8)
        // OpenMetrics names a counter family without its `_total` suffix.
        let familyName = type == .counter ? String(name.dropLast("_total".count)) : name
        openMetricsHeader = Array("# TYPE \(familyName) \(type.rawValue)\n# HELP \(familyName) \(escapedHelp)\n".utf8)
    }

    private static func escapeHelp(_ help: String) -> String {
        var out = ""
        for ch in help {
            switch ch {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            default: out.append(ch)
            }
        }
        return out
    }
}
