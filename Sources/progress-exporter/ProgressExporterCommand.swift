import ArgumentParser
import ExporterApp

@main
struct ProgressExporterCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "progress-exporter",
        abstract: "Prometheus exporter and alerting agent for progress trackers.",
        version: BuildInfo.version,
        subcommands: [Serve.self, Simulate.self, CheckConfig.self],
        defaultSubcommand: Serve.self
    )
}
