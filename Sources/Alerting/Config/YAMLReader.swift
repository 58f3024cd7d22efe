import ConfigFiles
import Events
import Yams

/// Typed reads of a YAML node tree that fail with the line and the path of the offending value.
struct YAMLReader {
    let node: Node
    let path: String

    var line: Int? { node.mark?.line }

    func fail(_ message: String) -> ConfigError { ConfigError(line: line, "\(path): \(message)") }

    /// The entries of a mapping; a key not in `allowed` is an error, so typos do not pass silently.
    func mapping(allowed: Set<String>? = nil) throws(ConfigError) -> [String: YAMLReader] {
        guard case .mapping(let mapping) = node else { throw fail("expected a mapping") }
        var out: [String: YAMLReader] = [:]
        for (keyNode, valueNode) in mapping {
            guard let key = keyNode.string else { throw ConfigError(line: keyNode.mark?.line, "\(path): keys must be strings") }
            if let allowed, !allowed.contains(key) {
                let suggestion = NearestNames.to(key, among: allowed, count: 1).first.map { "did you mean \($0)? " } ?? ""
                throw ConfigError(line: keyNode.mark?.line, "\(path.isEmpty ? "top level" : path): unknown field \"\(key)\" (\(suggestion)known: \(allowed.sorted().joined(separator: ", ")))")
            }
            out[key] = YAMLReader(node: valueNode, path: path.isEmpty ? key : "\(path).\(key)")
        }
        return out
    }

    func sequence() throws(ConfigError) -> [YAMLReader] {
        guard case .sequence(let sequence) = node else { throw fail("expected a list") }
        return sequence.enumerated().map { YAMLReader(node: $1, path: "\(path)[\($0)]") }
    }

    func string() throws(ConfigError) -> String {
        guard case .scalar(let scalar) = node else { throw fail("expected a string") }
        return scalar.string
    }

    func duration() throws(ConfigError) -> Double {
        let text = try string()
        guard let seconds = PromDuration.parse(text) else { throw fail("\"\(text)\" is not a duration (e.g. 30s, 5m, 1h)") }
        return seconds
    }

    func double() throws(ConfigError) -> Double {
        guard let value = Double(try string()) else { throw fail("expected a number") }
        return value
    }

    func int() throws(ConfigError) -> Int {
        guard let value = Int(try string()) else { throw fail("expected an integer") }
        return value
    }

    func bool() throws(ConfigError) -> Bool {
        switch try string().lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw fail("expected true or false")
        }
    }

    func stringMap() throws(ConfigError) -> [String: String] {
        var out: [String: String] = [:]
        for (key, value) in try mapping() { out[key] = try value.string() }
        return out
    }

    func stringList() throws(ConfigError) -> [String] {
        var out: [String] = []
        for item in try sequence() { out.append(try item.string()) }
        return out
    }

    /// Unix seconds from a number or an RFC 3339 string.
    func timestamp() throws(ConfigError) -> Double {
        let text = try string()
        if let seconds = Double(text) ?? RFC3339.parseTimestamp(text) { return seconds }
        throw fail("\"\(text)\" is neither Unix seconds nor an RFC 3339 time")
    }
}
