/// A config file problem (the alerting config, the web config), with the file and line it is on, e.g.
/// `config.yml: line 12: rules[1].after: "5 minutes" is not a duration`. Never holds a password hash or a key.
public struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String?
    public var line: Int?
    public var message: String

    public init(file: String? = nil, line: Int?, _ message: String) {
        self.file = file
        self.line = line
        self.message = message
    }

    public var description: String {
        [file, line.map { "line \($0)" }, message].compactMap { $0 }.joined(separator: ": ")
    }
}
