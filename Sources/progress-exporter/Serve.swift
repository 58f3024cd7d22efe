import ArgumentParser
import ExporterApp
import Foundation

/// `progress-exporter serve`: run the exporter until SIGINT or SIGTERM. The same as
/// `progress-exporter` without a subcommand, which takes the same options.
struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the exporter (what progress-exporter does without a subcommand).")

    @OptionGroup var options: ServeOptions

    func run() throws { try options.run() }
}

/// The exporter's flags, shared by `progress-exporter` and `progress-exporter serve`: every group
/// (ExporterFlags.swift), each under its own heading in --help.
struct ServeOptions: ParsableArguments {
    @OptionGroup(title: "Web options") var web: WebFlags
    @OptionGroup(title: "Alerting options") var alerting: AlertingFlags
    @OptionGroup(title: "Event source options") var sources: SourceFlags
    @OptionGroup(title: "Storage options") var storage: StorageFlags
    @OptionGroup(title: "Ingest and tracking options") var tracking: TrackingFlags
    @OptionGroup(title: "Log options") var log: LogFlags
    @OptionGroup(title: "Demo options") var demo: DemoFlags

    func options() throws -> ExporterOptions {
        var o = ExporterOptions()
        try web.apply(to: &o)
        alerting.apply(to: &o)
        try sources.apply(to: &o, storage: storage)
        try storage.apply(to: &o)
        try tracking.apply(to: &o)
        demo.apply(to: &o)
        return o
    }

    func run() throws {
        Log.configure(level: log.logLevel, format: log.logFormat)
        let options = try options()
        SignalWaiter.install([SIGINT, SIGTERM, SIGHUP])
        let exporter: Exporter
        do {
            exporter = try Exporter(options: options)
        } catch {
            Log.error("could not start", ["err": "\(error)"])
            throw ExitCode.failure
        }
        try Serving.run(exporter, address: web.listenAddress, mode: ("demo", "\(demo.demo)"))
    }
}
