import ArgumentParser
import ExporterApp

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
}
