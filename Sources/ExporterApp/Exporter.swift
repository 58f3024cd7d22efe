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
    private let alerting: AlertingService
    /// Everything that runs, in start order: sources, upkeep, alerting, then HTTP (stopped in reverse).
    public let services: ServiceGroup

    public init(options: ExporterOptions, clock: any TimeSource = WallClock()) throws {
        self.options = options
        let store = ProgressStore(options: options.store, clock: clock)
        self.store = store
        let externalURL = options.externalURL ?? Self.defaultExternalURL(listenAddress: options.listenAddress)
        let alerting = try AlertingService(configFile: options.configFile, externalURL: externalURL, store: store)
        self.alerting = alerting
        let liveStream = LiveStream(store: store, alerts: alerting.engine)
        let ingestor = Ingestor(store: store, limits: options.decoderLimits, shard: options.shard) {
            alerting.eventsApplied()
            liveStream.eventsApplied()
        }
        self.ingestor = ingestor

        let filePatterns = options.eventFiles.filter { $0 != "-" }
        let format = options.eventFormat
        let onLines: LineBatchHandler = { lines, origin in
            let position = Self.position(of: origin)
            switch format {
            case .native: ingestor.ingestNative(lines, source: origin.source, position: position)
            case .prodigy: ingestor.ingestProdigy(lines, run: Self.prodigyRun(of: origin.path), source: origin.source, position: position)
            }
        }
        let onOversized: OversizedLineHandler = { origin, _ in ingestor.recordOversizedLine(source: origin.source) }
        // Offsets only mean something beside the state they were reached with: without that state
        // (nothing restored), resuming mid-file would start a running job from an empty record and
        // lose its planned total and counts. So the files are read from their start again.
        let resumeFromOffsets = false
        if options.offsetsFile != nil && !filePatterns.isEmpty && !resumeFromOffsets {
            Log.warn("followed files are read from their start: no saved state to resume with", [
                "offsets_file": options.offsetsFile ?? "",
                "reason": "offsets without the state they belong to would lose the counts and planned totals of running jobs",
            ])
        }
        tailer = filePatterns.isEmpty ? nil : FileTailer(
            patterns: filePatterns, maxLineBytes: options.decoderLimits.maxLineBytes,
            offsetsFile: options.offsetsFile, resumeFromOffsets: resumeFromOffsets,
            onLines: onLines, onOversizedLine: onOversized)
        let stdinReader = options.eventFiles.contains("-") ? StandardInputReader(
            maxLineBytes: options.decoderLimits.maxLineBytes, onLines: onLines, onOversizedLine: onOversized,
            onEnd: { end in Log.info("standard input ended; the state stays served", ["end": "\(end)"]) }) : nil
        let demo = options.demo.map { DemoSource(options: $0, ingestor: ingestor) }

        var router = Router()
        let engine = alerting.engine
        // The server is made after its routes; the metrics read its refusal count through this.
        let serverForMetrics = Mutex<HTTPServer?>(nil)
        // Every part's self-metrics, in one list.
        let selfMetrics: [any SelfMetricsCollector] = [
            alerting,
            liveStream,
            EventSourceMetrics(tailer: tailer, stdinReader: stdinReader),
            HTTPServerMetrics { .init(oversizedBodies: UInt64(serverForMetrics.withLock { $0?.oversizedBodies ?? 0 })) },
        ]
        let metrics = MetricsEndpoint(store: store, shard: options.shard, keepAgents: { engine.agentsWithAlerts() }, gzipLevel: options.gzipLevel) { writer in
            for collector in selfMetrics { collector.collect(into: &writer) }
        }
        let events = EventsEndpoint(ingestor: ingestor, bearerToken: options.eventsBearerToken)
        let api = APIEndpoints(store: store)
        let readiness = self.readiness
        router.route("GET", "/metrics", metrics.handle)
        router.route("POST", "/events", events.handle)
        router.route("GET", "/api/v1/jobs", api.jobs)
        router.route("GET", "/api/v1/jobs/:job/agents", api.agents)
        router.route("GET", "/api/v1/jobs/:job/history", api.history)
        router.route("GET", "/-/healthy") { _ in .text("Healthy.\n") }
        router.route("GET", "/-/ready") { _ in HealthEndpoints.ready(readiness) }
        let lifecycleEnabled = options.enableLifecycle
        router.route("POST", "/-/reload") { _ in
            // As Prometheus: a state-changing endpoint that anyone who reaches the port could call is off by default.
            guard lifecycleEnabled else { return Self.lifecycleDisabled }
            switch alerting.reload() {
            case .success: return .text("Configuration reloaded.\n")
            case .failure(let error): return .text("Configuration not reloaded; the old one keeps running: \(error)\n", status: 500)
            }
        }
        router.route("GET", "/api/v1/alerts") { _ in APIEndpoints.alerts(engine) }
        router.route("GET", "/api/v1/stream", liveStream.handle)
        router.route("GET", "/") { _ in LivePage.page() }
        router.route("GET", "/static/live.js") { _ in LivePage.script() }
        router.route("GET", "/static/live.css") { _ in LivePage.stylesheet() }
        server = HTTPServer(
            options: HTTPServerOptions(
                listenAddress: options.listenAddress, threadPoolSize: options.threadPoolSize,
                connectionTimeoutSeconds: options.connectionTimeoutSeconds, maxBodyBytes: options.maxBodyBytes),
            handler: router.handle)
        serverForMetrics.withLock { [server] in $0 = server }
        let upkeep = UpkeepLoop(interval: options.tickInterval) { [tailer, readiness] in
            store.tick()
            if let tailer { readiness.set("events.file", problem: Self.tailerProblem(tailer)) }
        }

        var services: [any Service] = [ClosureService("events", start: { readiness.set("events", problem: "event sources are opening") }, stop: {})]
        if let tailer {
            services.append(ClosureService("events.file", start: {
                readiness.set("events.file", problem: "not started")
                tailer.start()
                readiness.set("events.file", problem: Self.tailerProblem(tailer))
            }, stop: { tailer.stop() }))
        }
        if let stdinReader {
            services.append(ClosureService("events.stdin", start: {
                stdinReader.start()
                readiness.set("events.stdin", problem: nil)
            }, stop: { stdinReader.stop() }))
        }
        if let demo { services.append(ClosureService("demo", start: { demo.start() }, stop: { demo.stop() })) }
        services.append(ClosureService("upkeep", start: { upkeep.start() }, stop: { upkeep.stop() }))
        services.append(ClosureService("alerting", start: { alerting.start() }, stop: { alerting.stop() }))
        services.append(ClosureService("stream", start: { liveStream.start() }, stop: { liveStream.stop() }))
        services.append(ClosureService("events.ready", start: { readiness.set("events", problem: nil) }, stop: {}))
        let server = self.server
        services.append(ClosureService("http", start: { try server.start() }, stop: { server.stop() }))
        self.services = ServiceGroup(services)
    }

    static let lifecycleDisabled = HTTPResponse.text(
        "Lifecycle API is not enabled: start the exporter with --web.enable-lifecycle to allow POST /-/reload (SIGHUP reloads either way).\n",
        status: 403)


    /// Starts every service in order: event sources, upkeep, alerting, then HTTP.
    public func start() throws { try services.start() }

    /// The port the HTTP server listens on (useful with port 0).
    public var port: Int { server.boundPort }

    /// Stops every service in reverse order (HTTP first, so no new events arrive); idempotent.
    public func stop() { services.stop() }

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

    /// Where a followed file stood after a batch; nil for streams.
    static func position(of origin: LineOrigin) -> SourcePosition? {
        guard let path = origin.path, let device = origin.device, let inode = origin.inode, let offset = origin.offset else { return nil }
        return SourcePosition(source: origin.source, path: path, device: device, inode: inode, offset: offset)
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
