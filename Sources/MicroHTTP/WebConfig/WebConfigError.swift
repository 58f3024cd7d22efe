/// A web config file problem, with the line it is on, e.g.
/// `web.yml: line 3: tls_server_config.min_version: "TLS10" is not supported (TLS12, TLS13)`.
/// Never holds a password hash or a key.
public struct WebConfigError: Error, Sendable, Equatable, CustomStringConvertible {
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
