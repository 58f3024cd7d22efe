import ArgumentParser
import Clocks
import ExporterApp
import Foundation
import Tracking

/// `progress-exporter replay FILE...`: recorded event logs through the same ingestor and store as
/// the live exporter, on a clock that follows event time; prints every job's final summary.
struct Replay: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Replay recorded event logs (plain or gzip) on a clock that follows event time, and print each job's final summary.",
        discussion: """
            The files are replayed one after the other, in the order given. The clock is the newest event time \
            applied, never the wall clock, so the totals and the ETC are those the live exporter showed at the \
            same event time. Progress goes to standard error; the summary to standard output.
            """)

    @Argument(help: "Event logs: native NDJSON or prodigy's, plain or gzip (told by their first bytes).")
    var files: [String]
    /// Replay's own flags first in --help, then only the exporter's flags that apply to a replay:
    /// --events.format, the decoder and store limits and --shard.* shape it as they shape the live
    /// exporter; the --web.* and alerting ones apply with --serve.
    @OptionGroup(title: "Replay options") var replay: ReplayFlags
    @OptionGroup(title: "Ingest and tracking options") var tracking: TrackingFlags
    @OptionGroup(title: "Web options (with --serve)") var web: WebFlags
    @OptionGroup(title: "Alerting options (with --serve)") var alerting: AlertingFlags
    @OptionGroup(title: "Log options") var log: LogFlags
    /// The exporter's flags a replay refuses, hidden from its help: the command without a subcommand
    /// takes every flag, so these would otherwise pass unseen.
    @OptionGroup(visibility: .hidden) var refusedSources: SourceFlags
    @OptionGroup(visibility: .hidden) var refusedStorage: StorageFlags
    @OptionGroup(visibility: .hidden) var refusedDemo: DemoFlags

    var speed: Double { replay.speed }
    var output: ReplayFlags.OutputFormat { replay.output }
    var serve: Bool { replay.serve }

    func validate() throws {
        guard !files.isEmpty else { throw ValidationError("give at least one event log to replay") }
        if !refusedSources.eventFiles.isEmpty { throw ValidationError("replay reads the files it is given, not --events.file") }
        if !refusedSources.sseURLs.isEmpty || !refusedSources.natsURLs.isEmpty {
            throw ValidationError("replay reads the files it is given, not --events.sse-url or --events.nats-url")
        }
        if refusedDemo.demo { throw ValidationError("replay does not run the demo (--demo)") }
        if refusedStorage.storagePath != nil || refusedStorage.journal {
            throw ValidationError("replay keeps its state in memory: --storage.path and --storage.journal are for the live exporter")
        }
    }

    func run() throws {
        Log.configure(level: log.logLevel, format: log.logFormat)
        var options = ExporterOptions()
        try web.apply(to: &options)
        alerting.apply(to: &options)
        try tracking.apply(to: &options)
        let clock = ReplayClock()
        var served: Exporter?
        let ingestor: Ingestor
        if serve {
            // The served result keeps every job the summary shows: the frozen clock would otherwise
            // forget, at the first upkeep, the jobs that ended an hour before the log's end.
            options.store.jobRetention = .infinity
            options.store.silentJobRetention = .infinity
            options.store.agentRetention = .infinity
            do {
                served = try Exporter(options: options, clock: clock)
            } catch {
                Log.error("could not start", ["err": "\(error)"])
                throw ExitCode.failure
            }
            ingestor = served!.ingestor
        } else {
            ingestor = Ingestor(store: ProgressStore(options: options.store, clock: clock), limits: options.decoderLimits, shard: options.shard)
        }

        let replayer = Replayer(ingestor: ingestor, clock: clock, format: options.eventFormat, speed: speed)
        let bar = ProgressReporter()
        let result: ReplayResult
        do {
            result = try replayer.run(files: files) { bar.report($0) }
        } catch {
            bar.finish()
            throw ReplayFailure(description: error.description)
        }
        bar.finish()
        switch output {
        case .table: FileHandle.standardOutput.write(Data(ReplayReport.table(result).utf8))
        case .json: FileHandle.standardOutput.write(Data(try ReplayReport.json(result).utf8))
        }
        guard let served else { return }
        try serveResult(served)
    }

    private func serveResult(_ exporter: Exporter) throws {
        SignalWaiter.install([SIGINT, SIGTERM, SIGHUP])
        try Serving.run(exporter, address: web.listenAddress, mode: ("replay", "true"))
    }
}

/// `replay`'s own flags.
struct ReplayFlags: ParsableArguments {
    enum OutputFormat: String, ExpressibleByArgument, CaseIterable { case table, json }

    @Option(
        parsing: .unconditional,
        help: "Event seconds per real second: 0 replays as fast as possible, 60 replays an hour in a minute.")
    var speed = 0.0
    @Option(help: "Summary format on standard output: table or json.")
    var output = OutputFormat.table
    @Flag(help: "After the replay, serve the result on /metrics, the API and the status page until SIGINT or SIGTERM; the clock stays at the newest event time.")
    var serve = false

    func validate() throws {
        guard speed >= 0, speed.isFinite else {
            throw ValidationError("--speed must be 0 (as fast as possible) or a positive number of event seconds per real second, not \(speed)")
        }
    }
}

/// A log that could not be read: printed as "Error: ..." without the usage, exit status 1.
struct ReplayFailure: Error, CustomStringConvertible {
    let description: String
}

/// The replay's progress on standard error: a bar redrawn in place on a terminal, a plain line every
/// few seconds otherwise (a log file or CI keeps readable lines).
final class ProgressReporter {
    private let terminal = isatty(STDERR_FILENO) == 1
    private var lastDraw = 0.0
    private var drew = false
    private let interval: Double

    init() { interval = isatty(STDERR_FILENO) == 1 ? 0.1 : 5 }

    private var last: Replayer.Progress?
    private var lastShown = false

    func report(_ progress: Replayer.Progress) {
        last = progress
        lastShown = false
        let now = WallClock().now()
        guard now - lastDraw >= interval else { return }
        lastDraw = now
        lastShown = true
        let time = progress.eventTime > 0 ? Date(timeIntervalSince1970: progress.eventTime).formatted(.iso8601) : "-"
        let percent = Int((progress.ratio * 100).rounded(.down))
        if terminal {
            let width = 30
            let filled = Int(progress.ratio * Double(width))
            let bar = String(repeating: "#", count: filled) + String(repeating: " ", count: width - filled)
            write("\r[\(bar)] \(percent)%  \(progress.events) events  \(time)\u{1B}[K")
            drew = true
        } else {
            write("replay: \(percent)% of \(progress.totalBytes) bytes, \(progress.events) events, \(progress.rejected) rejected, event time \(time)\n")
        }
    }

    /// Clears the bar; without a terminal, prints the final line when the last one was not it.
    func finish() {
        if drew { write("\r\u{1B}[K") }
        if !terminal, !lastShown, let last {
            lastDraw = 0
            report(last)
        }
    }

    private func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}
