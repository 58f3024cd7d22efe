/// The type of a metric family, as written on its `# TYPE` line.
public enum MetricType: String, Sendable {
    case counter, gauge, histogram
}

/// One metric family: name, type and help, with its header lines rendered once for each format.
public struct MetricFamily: Sendable {
    public let name: String
    public let type: MetricType
    public let help: String
    /// The base unit the name ends with (`seconds`, `bytes`, `ratio`), written as OpenMetrics' `# UNIT`.
    public let unit: String?
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
        textHeader = Array("# HELP \(name) \(Self.escapeHelp(help, quotes: false))\n# TYPE \(name) \(type.rawValue)\n".utf8)
        // OpenMetrics names a counter family without its `_total` suffix, and a unit must end the family name.
        let familyName = type == .counter ? String(name.dropLast("_total".count)) : name
        unit = Self.baseUnits.first { familyName.hasSuffix("_" + $0) }
        let unitLine = unit.map { "# UNIT \(familyName) \($0)\n" } ?? ""
        openMetricsHeader = Array(
            "# TYPE \(familyName) \(type.rawValue)\n\(unitLine)# HELP \(familyName) \(Self.escapeHelp(help, quotes: true))\n".utf8)
    }

    /// Prometheus's base units that the exporter's names use; a name ending in one declares it.
    private static let baseUnits = ["seconds", "bytes", "ratio"]

    /// Both formats escape backslash and newline in HELP; OpenMetrics also escapes the double quote,
    /// which text 0.0.4 must leave alone (its parsers reject `\"` there).
    private static func escapeHelp(_ help: String, quotes: Bool) -> String {
        var out = ""
        for ch in help {
            switch ch {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\"" where quotes: out += "\\\""
            default: out.append(ch)
            }
        }
        return out
    }
}
