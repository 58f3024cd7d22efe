import EventSources
import Events
import Exposition
import Foundation
import Alerting
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
    private let alerting: AlertingService
    private let stopped = Mutex(false)

    public init(options: ExporterOptions, clock: any TimeSource = WallClock()) throws {
        self.options = options
        let store = ProgressStore(options: options.store, clock: clock)
        self.store = store
        let externalURL = options.externalURL ?? Self.defaultExternalURL(listenAddress: options.listenAddress)
        let alerting = try AlertingService(
            configFile: options.configFile, externalURL: externalURL, store: store, shutdownGrace: options.alertingShutdownGrace)
        self.alerting = alerting
        let ingestor = Ingestor(store: store, limits: options.decoderLimits, shard: options.shard) { alerting.eventsApplied() }
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
        demo = options.demo.map { DemoSource(options: $0, store: store) { alerting.eventsApplied() } }

        var router = Router()
        let engine = alerting.engine
        // The server is made after its routes; the metrics read its refusal count through this.
        let serverForMetrics = Mutex<HTTPServer?>(nil)
        let metrics = MetricsEndpoint(store: store, shard: options.shard, keepAgents: { engine.agentsWithAlerts() }, gzipLevel: options.gzipLevel) { writer in
            alerting.collect(into: &writer)
            writer.family(Self.oversizedBodies)
            writer.sample(Self.oversizedBodies, .empty, .empty, Double(serverForMetrics.withLock { $0?.oversizedBodies ?? 0 }))
        }
        let events = EventsEndpoint(ingestor: ingestor, bearerToken: options.eventsBearerToken)
        let api = APIEndpoints(store: store)
        let readiness = self.readiness
        router.route("GET", "/metrics", metrics.handle)
        router.route("POST", "/events", events.handle)
        router.route("GET", "/api/v1/jobs", api.jobs)
        router.route("GET", "/api/v1/jobs/:job/agents", api.agents)
        router.route("GET", "/-/healthy") { _ in .text("Healthy.\n") }
        router.route("GET", "/-/ready") { _ in HealthEndpoints.ready(readiness) }
        router.route("POST", "/-/reload") { _ in
            switch alerting.reload() {
            case .success: return .text("Configuration reloaded.\n")
            case .failure(let error): return .text("Configuration not reloaded; the old one keeps running: \(error)\n", status: 500)
            }
        }
        router.route("GET", "/api/v1/alerts") { _ in APIEndpoints.alerts(engine) }
        router.route("GET", "/") { _ in LandingPage.response(store: store) }
        server = HTTPServer(
            options: HTTPServerOptions(
                listenAddress: options.listenAddress, threadPoolSize: options.threadPoolSize,
                connectionTimeoutSeconds: options.connectionTimeoutSeconds, maxBodyBytes: options.maxBodyBytes),
            handler: router.handle)
        serverForMetrics.withLock { [server] in $0 = server }
        upkeep = UpkeepLoop(interval: options.tickInterval) { [tailer, readiness] in
            store.tick()
            if let tailer { readiness.set("events.file", problem: Self.tailerProblem(tailer)) }
        }
    }

    static let oversizedBodies = MetricFamily(
        "progress_exporter_http_oversized_bodies_total", .counter, help: "POST bodies refused with 413 for being over --web.max-body-bytes.")

    /// Opens the event sources, starts the upkeep loop and then serves HTTP.
    public func start() throws {
        readiness.set("events", problem: "event sources are opening")
        if let tailer {
            readiness.set("events.file", problem: "not started")
            tailer.start()
            readiness.set("events.file", problem: Self.tailerProblem(tailer))
        }
        if let stdinReader {
            stdinReader.start()
            readiness.set("events.stdin", problem: nil)
        }
        demo?.start()
        upkeep.start()
        alerting.start()
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
        alerting.stop()
    }

    /// Re-reads `--config.file` (SIGHUP, POST /-/reload); a bad file keeps the running config.
    @discardableResult
    public func reload() -> Result<Void, ConfigError> { alerting.reload() }

    /// Loads a config file as `serve` would and says what is in it, or throws its first error.
    public static func checkConfig(_ path: String) throws -> String {
        let config = try AlertingService.load(path, logWarnings: false)
        var lines = ["\(path): OK", "evaluation_interval: \(config.evaluationInterval)s", "rules:"]
        for rule in config.rules {
            var line = "  \(rule.name) (\(rule.kind.rawValue)) severity=\(rule.severity) for=\(rule.forDuration)s"
            if rule.kind == .agentStalled || rule.kind == .agentLost || rule.kind == .jobStalled { line += " after=\(rule.after)s" }
            if let jobs = rule.jobs { line += " jobs=\(jobs.source)" }
            if !rule.enabled { line += " disabled" }
            lines.append(line)
        }
        lines.append("receivers: " + config.receivers.map(\.name).joined(separator: ", "))
        lines.append("routes: " + (config.routes.isEmpty ? "(none: every alert to every receiver)" : config.routes.map { route in
            "\(route.match.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")) -> \(route.receiver)\(route.continueMatching ? " (continue)" : "")"
        }.joined(separator: "; ")))
        for warning in config.warnings { lines.append("warning: \(warning)") }
        return lines.joined(separator: "\n")
    }

    static func defaultExternalURL(listenAddress: String) -> String {
        let port = listenAddress.split(separator: ":").last.map(String.init) ?? "9465"
        return "http://\(ProcessInfo.processInfo.hostName):\(port)"
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
