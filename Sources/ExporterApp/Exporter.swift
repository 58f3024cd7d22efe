import EventSources
import Events
import Exposition
import Foundation
import MicroHTTP
import Synchronization
import Tracking

/// The running exporter: store, event sources, upkeep and the HTTP server, wired from `ExporterOptions`.
/// Holds no flag parsing and no signal handling, so tests can embed it.
public final class Exporter: Sendable {
    public let options: ExporterOptions
    public let store: ProgressStore
    public let ingestor: Ingestor
    public let readiness = Readiness()
    private let server: HTTPServer
    private let tailer: FileTailer?
    private let stdinReader: StandardInputReader?
    private let demo: DemoSource?
    private let upkeep: UpkeepLoop
    private let stopped = Mutex(false)

    public init(options: ExporterOptions, clock: any TimeSource = WallClock()) throws {
        self.options = options
        let store = ProgressStore(options: options.store, clock: clock)
        self.store = store
        let ingestor = Ingestor(store: store, limits: options.decoderLimits)
        self.ingestor = ingestor

        let filePatterns = options.eventFiles.filter { $0 != "-" }
        let format = options.eventFormat
        let onLines: LineBatchHandler = { lines, origin in
            switch format {
            case .native: ingestor.ingestNative(lines, source: origin.source)
            case .prodigy: ingestor.ingestProdigy(lines, run: Self.prodigyRun(of: origin.path), source: origin.source)
            }
        }
        let onOversized: OversizedLineHandler = { origin, _ in ingestor.recordOversizedLine(source: origin.source) }
        tailer = filePatterns.isEmpty ? nil : FileTailer(
            patterns: filePatterns, maxLineBytes: options.decoderLimits.maxLineBytes,
            offsetsFile: options.offsetsFile, onLines: onLines, onOversizedLine: onOversized)
        stdinReader = options.eventFiles.contains("-") ? StandardInputReader(
            maxLineBytes: options.decoderLimits.maxLineBytes, onLines: onLines, onOversizedLine: onOversized,
            onEnd: { end in Log.info("standard input ended; the state stays served", ["end": "\(end)"]) }) : nil
        demo = options.demo.map { DemoSource(options: $0, store: store) }

        var router = Router()
        let metrics = MetricsEndpoint(store: store)
        let events = EventsEndpoint(ingestor: ingestor, bearerToken: options.eventsBearerToken)
        let api = APIEndpoints(store: store)
        let readiness = self.readiness
        router.route("GET", "/metrics", metrics.handle)
        router.route("POST", "/events", events.handle)
        router.route("GET", "/api/v1/jobs", api.jobs)
        router.route("GET", "/api/v1/jobs/:job/agents", api.agents)
        router.route("GET", "/-/healthy") { _ in .text("Healthy.\n") }
        router.route("GET", "/-/ready") { _ in HealthEndpoints.ready(readiness) }
        router.route("GET", "/") { _ in LandingPage.response(store: store) }
        server = HTTPServer(
            options: HTTPServerOptions(
                listenAddress: options.listenAddress, threadPoolSize: options.threadPoolSize,
                connectionTimeoutSeconds: options.connectionTimeoutSeconds, maxBodyBytes: options.maxBodyBytes),
            handler: router.handle)
        upkeep = UpkeepLoop(interval: options.tickInterval) { [tailer, readiness] in
            store.tick()
            if let tailer { readiness.set("events.file", problem: Self.tailerProblem(tailer)) }
        }
    }

    /// Opens the event sources, starts the upkeep loop and then serves HTTP.
    public func start() throws {
        readiness.register("events", problem: "event sources are opening")
        if let tailer {
            readiness.register("events.file", problem: "not started")
            tailer.start()
            readiness.set("events.file", problem: Self.tailerProblem(tailer))
        }
        if let stdinReader {
            stdinReader.start()
            readiness.set("events.stdin", problem: nil)
        }
        demo?.start()
        upkeep.start()
        readiness.set("events", problem: nil)
        try server.start()
    }

    /// The port the HTTP server listens on (useful with port 0).
    public var port: Int { server.boundPort }

    /// Stops HTTP first (no new events), then the sources; idempotent.
    public func stop() {
        let wasStopped = stopped.withLock { stopped in
            defer { stopped = true }
            return stopped
        }
        guard !wasStopped else { return }
        server.stop()
        demo?.stop()
        stdinReader?.stop()
        tailer?.stop()
        upkeep.stop()
    }

    /// A prodigy run is keyed by its folder: `<repo>/<run id>` of `<home>/<repo>/<run id>/events-*.jsonl`.
    static func prodigyRun(of path: String?) -> String {
        guard let path else { return "stdin" }
        let parts = path.split(separator: "/")
        guard parts.count >= 3 else { return parts.dropLast().joined(separator: "/") }
        return parts[parts.count - 3] + "/" + parts[parts.count - 2]
    }

    private static func tailerProblem(_ tailer: FileTailer) -> String? {
        let problems = tailer.patternStatuses.compactMap { status in status.problem.map { "\(status.pattern): \($0)" } }
        return problems.isEmpty ? nil : problems.joined(separator: "; ")
    }
}
