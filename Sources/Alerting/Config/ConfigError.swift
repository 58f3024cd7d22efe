/// A config file problem, with the line it is on, e.g. `line 12: rules[1].after: "5 minutes" is not a duration`.
public struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    public var line: Int?
    public var message: String

    public init(line: Int?, _ message: String) {
        self.line = line
        self.message = message
    }

    public var description: String { line.map { "line \($0): \(message)" } ?? message }
}
