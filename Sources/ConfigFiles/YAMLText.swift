import Yams

/// What the config readers (the alerting config, the web config) share: YAML parsed into a node tree,
/// with a parse error turned into a `ConfigError` that names its line and Yams's reason.
public enum YAMLText {
    /// The document's root node; nil for an empty document.
    public static func compose(_ text: String) throws(ConfigError) -> Node? {
        do {
            return try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw ConfigError(line: line(of: error), "not valid YAML: \(problem(of: error))")
        } catch {
            throw ConfigError(line: nil, "not valid YAML: \(error)")
        }
    }

    private static func line(of error: YamlError) -> Int? {
        switch error {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _): return mark.line
        default: return nil
        }
    }

    private static func problem(of error: YamlError) -> String {
        switch error {
        case .scanner(let context, let problem, _, _), .parser(let context, let problem, _, _), .composer(let context, let problem, _, _):
            return [context.map { "\($0.text)" }, problem].compactMap { $0 }.joined(separator: ": ")
        default: return "\(error)"
        }
    }
}
