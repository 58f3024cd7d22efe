import ArgumentParser
import Events
import ExporterApp
import Foundation

/// `progress-exporter [serve options]` serves, as `progress-exporter serve` does; its options are
/// serve's, so `progress-exporter --help` lists them (with the subcommands after them).
@main
struct ProgressExporterCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "progress-exporter",
        abstract: "Prometheus exporter and alerting agent for progress trackers.",
        discussion: "Without a subcommand it runs the exporter, as 'progress-exporter serve' does, with the options below.",
        version: BuildInfo.versionText,
        subcommands: [Serve.self, Simulate.self, CheckConfig.self, Replay.self, Export.self, Top.self]
    )

    @OptionGroup var serve: ServeOptions

    func run() throws { try serve.run() }

    /// As ArgumentParser's own `main`, but an unknown flag's error names the nearest known ones
    /// (`--web.listen` → `--web.listen-address`).
    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        do {
            var command = try parseAsRoot(arguments)
            try command.run()
        } catch {
            // Only an unknown flag's message is changed; help, version and every other error go
            // through ArgumentParser as they are (help and version to standard output).
            let message = fullMessage(for: error)
            guard let range = message.range(of: #"Unknown option '(--[^']+)'"#, options: .regularExpression) else { exit(withError: error) }
            let typed = String(message[range].dropFirst("Unknown option '".count).dropLast())
            let name = String(typed.prefix { $0 != "=" })
            let help = helpMessage(for: subcommand(of: arguments))
            let flags = Set(help.matches(of: /--[a-z][a-z0-9.-]*/).map { String($0.output) })
            let suggestion = NearestNames.suggestion(for: name, among: flags)
            guard !suggestion.isEmpty else { exit(withError: error) }
            FileHandle.standardError.write(Data((message.replacingCharacters(in: range, with: String(message[range]) + suggestion) + "\n").utf8))
            exit(withError: ExitCode(exitCode(for: error).rawValue))
        }
    }

    /// The subcommand named first in `arguments`, for its own help's flags.
    private static func subcommand(of arguments: [String]) -> ParsableCommand.Type {
        guard let first = arguments.first else { return Self.self }
        return configuration.subcommands.first { $0.configuration.commandName == first } ?? Self.self
    }
}
