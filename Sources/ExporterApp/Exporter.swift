import Clocks
import ConfigFiles
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
    /// Jobs that ended longer than `--jobs.retention` ago when they arrived: logged and counted.
    let forgotten = ForgottenJobs()
    private let server: HTTPServer
    private let tailer: FileTailer?
    let alerting: AlertingService
    /// `--web.config.file`: TLS, client certificates and basic auth; nil without one.
    private let security: WebSecurity?
    /// Everything that runs, in start order: sources, upkeep, alerting, then HTTP (stopped in reverse).
    public let services: ServiceGroup

    public init(options: ExporterOptions, clock: any TimeSource = WallClock()) throws {
        self.options = options
        let store = ProgressStore(options: options.store, clock: clock)
        self.store = store
        // The web config first: a bad one is refused before anything starts. With an events bearer
        // token, POST /events takes that token instead of basic auth (both would need the one
        // Authorization header); every other request needs basic auth when users are listed.
        let bearerTokenSet = options.eventsBearerToken != nil
        let security = try options.webConfigFile.map { file throws(ConfigError) in
            try WebSecurity(file: file) { method, path in bearerTokenSet && method == "POST" && path == "/events" }
        }
        self.security = security
        if let security {
            Log.info("web config loaded", [
                "file": security.file ?? "", "tls": security.tls?.description ?? "off",
                "basic_auth_users": "\(security.currentUsers.count)",
            ])
        }
        let externalURL = options.externalURL ?? Self.defaultExternalURL(listenAddress: options.listenAddress, tls: security?.tls != nil)
        let alerting = try AlertingService(
            configFile: options.configFile, externalURL: externalURL, store: store, shutdownGrace: options.alertingShutdownGrace,
            clock: clock)
        self.alerting = alerting
        var streamLimits = LiveStream.Limits()
        streamLimits.maxClients = options.maxStreamClients
        let liveStream = LiveStream(store: store, alerts: alerting.engine, limits: streamLimits, clock: clock)
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
        // The state comes back before any source opens or HTTP answers.
        var snapshotter: Snapshotter?
        var restored: Snapshotter.Restored?
        var journal: Journal?
        if let path = options.storagePath {
            try Snapshotter.prepare(path)
            let storage = Snapshotter(folder: path, interval: options.snapshotInterval, ingestor: ingestor, alerts: alerting.engine, clock: clock)
            restored = storage.restore()
            snapshotter = storage
            if options.journal {
                journal = try Self.replayJournal(folder: path, restored: restored, ingestor: ingestor)
                storage.attach(journal!)
            }
            try alerting.persistAlertStates(in: path)
        }
        // Followed files continue where the restored state says they were. Offsets alone mean
        // nothing without the state they were reached with: resuming mid-file into an empty state
        // would lose running jobs' planned totals and counts, so without one files are read from
        // their start again (the offsets file is still written).
        let resumeFromOffsets = false
        let resumeAt = (restored?.positions ?? []).filter(\.isFile)
        if options.offsetsFile != nil && !filePatterns.isEmpty && restored == nil {
            Log.warn("followed files are read from their start: no saved state to resume with", [
                "offsets_file": options.offsetsFile ?? "",
                "reason": "offsets without the state they belong to would lose the counts and planned totals of running jobs",
            ])
        }
        tailer = filePatterns.isEmpty ? nil : FileTailer(
            patterns: filePatterns, maxLineBytes: options.decoderLimits.maxLineBytes,
            offsetsFile: options.offsetsFile, resumeFromOffsets: resumeFromOffsets, resumeAt: resumeAt,
            onLines: onLines, onOversizedLine: onOversized,
            onNotice: { notice in
                switch notice.kind {
                case .recovered: Log.warn("followed file recovered", ["file": notice.path, "detail": notice.detail])
                case .unrecoverable: Log.error("followed file lines lost", ["file": notice.path, "detail": notice.detail])
                }
            })
        // Standard input has no position to resume from: with the journal its native lines are made
        // durable before they are applied, like POST bodies.
        let stdinLines: LineBatchHandler = { [journal] lines, origin in
            guard let journal, format == .native else { return onLines(lines, origin) }
            let batch = ingestor.decodeNative(lines)
            guard batch.accepted > 0 else { ingestor.apply(batch, source: origin.source); return }
            do {
                let arrived = ingestor.now()
                _ = try journal.commit(source: origin.source, body: lines, arrived: arrived) { position in
                    ingestor.apply(batch, source: origin.source, positions: [position], arrivedAt: arrived)
                }
            } catch {
                // Nobody can send these lines again: applied without durability, as without the journal.
                Log.error("standard input lines applied without the journal", ["err": "\(error)"])
                ingestor.apply(batch, source: origin.source)
            }
        }
        let stdinReader = options.eventFiles.contains("-") ? StandardInputReader(
            maxLineBytes: options.decoderLimits.maxLineBytes, onLines: stdinLines, onOversizedLine: onOversized,
            onEnd: { end in Log.info("standard input ended; the state stays served", ["end": "\(end)"]) }) : nil
        let demo = options.demo.map { DemoSource(options: $0, ingestor: ingestor) }
        let readiness = self.readiness
        let streams = Self.eventStreams(options, ingestor: ingestor, readiness: readiness, restored: restored?.positions ?? [])
        let nats = options.nats.map {
            NATSIngest(settings: $0, ingestor: ingestor, journal: journal, snapshots: snapshotter, readiness: readiness)
        }

        var router = Router()
        let engine = alerting.engine
        // The server is made after its routes; the metrics read its refusal count through this.
        let serverForMetrics = Mutex<HTTPServer?>(nil)
        // Every part's self-metrics, in one list.
        let selfMetrics: [any SelfMetricsCollector] = ([snapshotter, journal, nats] as [(any SelfMetricsCollector)?]).compactMap { $0 } + [
            alerting,
            liveStream,
            EventSourceMetrics(tailer: tailer, stdinReader: stdinReader, streams: streams),
            HTTPServerMetrics { .init(oversizedBodies: UInt64(serverForMetrics.withLock { $0?.oversizedBodies ?? 0 })) },
            HTTPLimitCollector { serverForMetrics.withLock { $0?.limitCounts ?? HTTPServer.LimitCounts() } },
            forgotten,
        ]
        let metrics = MetricsEndpoint(store: store, shard: options.shard, keepAgents: { engine.agentsWithAlerts() }, gzipLevel: options.gzipLevel) { writer in
            for collector in selfMetrics { collector.collect(into: &writer) }
        }
        var events = EventsEndpoint(ingestor: ingestor, bearerToken: options.eventsBearerToken)
        events.journal = journal
        let api = APIEndpoints(store: store)
        router.route("GET", "/metrics", metrics.handle)
        router.route("POST", "/events", events.handle)
        router.route("GET", "/api/v1/jobs", api.jobs)
        router.route("GET", "/api/v1/jobs/:job/agents", api.agents)
        router.route("GET", "/api/v1/jobs/:job/history", api.history)
        router.route("GET", "/api/v1/jobs/:job/failures", api.failures)
        router.route("GET", "/-/healthy") { _ in .text("Healthy.\n") }
        router.route("GET", "/-/ready") { _ in HealthEndpoints.ready(readiness) }
        let lifecycleEnabled = options.enableLifecycle
        router.route("POST", "/-/reload") { _ in
            // As Prometheus: a state-changing endpoint that anyone who reaches the port could call is off by default.
            guard lifecycleEnabled else { return Self.lifecycleDisabled }
            guard alerting.hasConfigFile || security != nil else { return Self.nothingToReload }
            var problems: [String] = []
            if let security, case .failure(let error) = Self.reloadWebConfig(security, server: serverForMetrics.withLock({ $0 })) {
                problems.append("web config: \(error)")
            }
            if alerting.hasConfigFile, case .failure(let error) = alerting.reload() { problems.append("\(error)") }
            guard problems.isEmpty else {
                return .text("Configuration not reloaded; the old one keeps running: \(problems.joined(separator: "; "))\n", status: 500)
            }
            return .text("Configuration reloaded.\n")
        }
        router.route("GET", "/api/v1/alerts") { request in APIEndpoints.alerts(engine, request) }
        router.route("GET", "/api/v1/stream", liveStream.handle)
        _ = LivePage.files  // read now: a missing resource bundle stops the start, not the first page view
        router.route("GET", "/") { _ in LivePage.page() }
        router.route("GET", "/static/live.js") { _ in LivePage.script() }
        router.route("GET", "/static/live.css") { _ in LivePage.stylesheet() }
        var serverOptions = HTTPServerOptions(
            listenAddress: options.listenAddress, threadPoolSize: options.threadPoolSize,
            connectionTimeoutSeconds: options.connectionTimeoutSeconds, maxBodyBytes: options.maxBodyBytes,
            maxConnections: options.maxConnections, maxConnectionsPerIP: options.maxConnectionsPerIP,
            requestTimeoutSeconds: options.requestTimeoutSeconds, maxBodyBufferBytes: options.maxBodyBufferBytes)
        serverOptions.handlerThreads = options.handlerThreads
        server = HTTPServer(
            options: serverOptions,
            security: security,
            gate: Self.eventsGate(options.eventsBearerToken),
            handler: router.handle)
        serverForMetrics.withLock { [server] in $0 = server }
        let upkeep = UpkeepLoop(interval: options.tickInterval) { [tailer, readiness, forgotten] in
            forgotten.record(ingestor.tick(), retention: options.store.jobRetention, silentRetention: options.store.silentJobRetention)
            if let tailer { Self.setReadiness(readiness, of: tailer) }
        }

        // The snapshotter starts first and so stops last: its final snapshot holds everything the
        // sources and HTTP applied before they stopped.
        var services: [any Service] = [snapshotter].compactMap { $0 }
        services.append(ClosureService("events", start: { readiness.set("events", problem: "event sources are opening") }, stop: {}))
        if let tailer {
            services.append(ClosureService("events.file", start: {
                readiness.set("events.file", problem: "not started")
                tailer.start()
                Self.setReadiness(readiness, of: tailer)
            }, stop: { tailer.stop() }))
        }
        if let stdinReader {
            services.append(ClosureService("events.stdin", start: {
                stdinReader.start()
                readiness.set("events.stdin", problem: nil)
            }, stop: { stdinReader.stop() }))
        }
        for stream in streams {
            services.append(ClosureService("events.sse", start: {
                readiness.set(stream.readinessName, problem: "not connected yet")
                stream.source.start()
            }, stop: { stream.source.stop() }))
        }
        if let nats {
            services.append(ClosureService("events.nats", start: { nats.source.start() }, stop: { nats.source.stop() }))
        }
        if let demo { services.append(ClosureService("demo", start: { demo.start() }, stop: { demo.stop() })) }
        services.append(ClosureService("upkeep", start: { upkeep.start() }, stop: { upkeep.stop() }))
        services.append(ClosureService("alerting", start: { alerting.start() }, stop: { alerting.stop() }))
        services.append(ClosureService("stream", start: { liveStream.start() }, stop: { liveStream.stop() }))
        services.append(ClosureService("events.ready", start: { readiness.set("events", problem: nil) }, stop: {}))
        let server = self.server
        services.append(ClosureService("http", start: {
            do {
                try server.start()
            } catch let error as HTTPServerError {
                throw ListenFailure(error: error)
            }
        }, stop: { server.stop() }))
        self.services = ServiceGroup(services)
    }

    static let lifecycleDisabled = HTTPResponse.text(
        "Lifecycle API is not enabled: start the exporter with --web.enable-lifecycle to allow POST /-/reload (SIGHUP reloads either way).\n",
        status: 403)

    /// 200, not an error: a deploy that reloads every exporter should not fail on one without a config file.
    static let nothingToReload = HTTPResponse.text(
        "No configuration file to reload: the exporter was started without --config.file, so the built-in rules keep running unchanged.\n")

    /// Starts every service in order: event sources, upkeep, alerting, then HTTP.
    public func start() throws { try services.start() }

    /// The port the HTTP server listens on (useful with port 0).
    public var port: Int { server.boundPort }

    /// Stops every service in reverse order (HTTP first, so no new events arrive); idempotent.
    public func stop() { services.stop() }

    /// Re-reads `--web.config.file` and `--config.file` (SIGHUP, POST /-/reload); a bad file keeps the running config.
    @discardableResult
    public func reload() -> Result<Void, ConfigError> {
        if let security { Self.reloadWebConfig(security, server: server) }
        return alerting.reload()
    }

    /// TLS changes from reloads, applied one at a time in order, off the thread that asked: a
    /// POST /-/reload is itself a request in flight of the daemon being replaced, whose retirement
    /// waits for its requests to finish.
    static let tlsRestarts = DispatchQueue(label: "progress-exporter.tls-restart")

    /// Re-reads `--web.config.file`: its users apply at once, changed TLS settings a moment later
    /// (a new listener daemon; see `HTTPServer.restart(tls:)`); a bad file keeps the old config.
    @discardableResult
    static func reloadWebConfig(_ security: WebSecurity, server: HTTPServer?) -> Result<WebSecurity.ReloadOutcome, ConfigError> {
        let result = security.reload()
        switch result {
        case .success(.applied):
            Log.info("web config reloaded", ["file": security.file ?? "", "basic_auth_users": "\(security.currentUsers.count)"])
        case .success(.tlsChanged(let tls)):
            Log.info("web config reloaded; its TLS settings changed and are being put in place", [
                "file": security.file ?? "", "basic_auth_users": "\(security.currentUsers.count)", "tls": tls?.description ?? "off",
            ])
            tlsRestarts.async {
                do {
                    if let server { try server.restart(tls: tls) }
                    Log.info("new TLS settings in place", ["tls": tls?.description ?? "off"])
                } catch {
                    Log.error("new TLS settings not applied; the old ones stay", ["err": "\(error)"])
                }
            }
        case .failure(let error):
            Log.error("web config not reloaded; the old one keeps running", ["err": "\(error)"])
        }
        return result
    }

    /// Loads a config file as `serve` would and says what is in it, or throws its first error.
    public static func checkConfig(_ path: String) throws -> String {
        let config = try AlertingService.load(path, logWarnings: false)
        var lines = ["\(path): OK", "evaluation_interval: \(PromDuration.format(config.evaluationInterval))", "rules:"]
        for rule in config.rules {
            var line = "  \(rule.name) (\(rule.kind.rawValue)) severity=\(rule.severity) for=\(PromDuration.format(rule.forDuration))"
            if let auto = rule.autoAfter {
                line += " after=auto(max(\(PromDuration.format(auto.floor)), \(auto.factor) x p99 item duration))"
            } else if rule.kind == .agentStalled || rule.kind == .agentLost || rule.kind == .jobStalled {
                line += " after=\(PromDuration.format(rule.after))"
            }
            if rule.keepFiringFor > 0 { line += " keep_firing_for=\(PromDuration.format(rule.keepFiringFor))" }
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

    /// Applies the journaled batches the restored state does not hold yet, in their order, and opens
    /// the journal after them. Damaged records are skipped alone, counted and quarantined.
    static func replayJournal(folder: String, restored: Snapshotter.Restored?, ingestor: Ingestor) throws -> Journal {
        let applied = UInt64(clamping: restored?.positions.first { $0.isJournal }?.offset ?? 0)
        let found = JournalReader(folder: folder)
        for damage in found.damaged {
            Log.error("journal: damaged record skipped", [
                "file": damage.path, "offset": "\(damage.offset)", "bytes": "\(damage.bytes)", "quarantine": damage.quarantine ?? "(could not copy)",
            ])
        }
        for cut in found.truncated {
            Log.warn("journal: segment ends inside a record (a write cut short, never acknowledged)", ["file": cut.path, "offset": "\(cut.offset)"])
        }
        let pending = found.batches.filter { $0.sequence > applied }
        for batch in pending {
            let decoded = ingestor.decodeNative(batch.body)
            if let position = batch.position {
                // A bus message: applied once, as when it was first read.
                ingestor.applyOnce(decoded, id: NATSIngest.messageID(position), source: batch.source,
                                   positions: [.journal(through: batch.sequence), position], arrivedAt: batch.arrived)
            } else {
                ingestor.apply(decoded, source: batch.source, positions: [.journal(through: batch.sequence)], arrivedAt: batch.arrived)
            }
        }
        if !pending.isEmpty { Log.info("journal replayed", ["batches": "\(pending.count)", "after": "\(applied)"]) }
        let legacy = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { $0.hasPrefix("journal-") && $0.hasSuffix(".log") }
        if !legacy.isEmpty {
            Log.warn("journal segments of an older format are not read; stop the old version cleanly before upgrading (its last snapshot holds every batch)", ["files": legacy.sorted().joined(separator: ",")])
        }
        do {
            return try Journal(folder: folder, after: max(applied, found.lastSequence), found: found)
        } catch {
            throw Snapshotter.Unusable(description: "--storage.journal: \(error.description)")
        }
    }

    /// With `--web.events-bearer-token-file`, a POST /events without the token is refused as soon as
    /// its headers are in: no `100 Continue`, no body read, none of the body budget reserved.
    static func eventsGate(_ token: BearerToken?) -> HTTPServer.Gate? {
        guard let token else { return nil }
        return { method, path, authorization in
            guard method == "POST", path == "/events", !token.isPresented(in: authorization) else { return nil }
            return EventsEndpoint.unauthorized
        }
    }

    static func defaultExternalURL(listenAddress: String, tls: Bool = false) -> String {
        let port = listenAddress.split(separator: ":").last.map(String.init) ?? "9465"
        return "\(tls ? "https" : "http")://\(ProcessInfo.processInfo.hostName):\(port)"
    }

    /// Where the source stood after a batch (a followed file's offset, a stream's last event id).
    static func position(of origin: LineOrigin) -> SourcePosition? { origin.position }

    /// A prodigy run is keyed by its folder: `<repo>/<run id>` of `<home>/<repo>/<run id>/events-*.jsonl`.
    static func prodigyRun(of path: String?) -> String {
        guard let path else { return "stdin" }
        let parts = path.split(separator: "/")
        guard parts.count >= 3 else { return parts.dropLast().joined(separator: "/") }
        return parts[parts.count - 3] + "/" + parts[parts.count - 2]
    }

    /// A stream URL as logs and errors show it: without user info, query and fragment.
    public static func redactedStreamURL(_ url: String) -> String { ServerSentEventSource.redacted(url) }

    /// One `--events.sse-url` stream: its source and the name it has in /-/ready.
    struct EventStream: Sendable {
        let source: ServerSentEventSource
        /// The URL without credentials or query (and `#2`... when two would read the same): label and log field.
        let name: String
        let readinessName: String
    }

    /// The `--events.sse-url` streams, each applying its events as source `sse` and telling the log
    /// and /-/ready how its connection fares (ready from its first connection on).
    static func eventStreams(_ options: ExporterOptions, ingestor: Ingestor, readiness: Readiness, restored: [SourcePosition] = []) -> [EventStream] {
        var seen: Set<String> = []
        return options.sseURLs.map { url in
            var settings = ServerSentEventSource.Settings(url: url, authorization: options.sseBearerToken?.authorizationHeaderValue)
            settings.maxLineBytes = options.decoderLimits.maxLineBytes
            settings.maxIDBytes = options.decoderLimits.maxIdBytes
            settings.readTimeout = options.sseReadTimeout
            // Resume where the restored state says this stream was.
            if let position = restored.first(where: { $0.isStream && $0.path == ServerSentEventSource.redacted(url) }) {
                settings.lastEventID = position.eventID
            }
            // Two URLs that differ only in what is not shown (credentials, query) still get names of their own.
            let shown = ServerSentEventSource.redacted(url)
            var unique = shown
            var index = 2
            while seen.contains(unique) {
                unique = "\(shown) #\(index)"
                index += 1
            }
            seen.insert(unique)
            let name = unique
            let readinessName = "events.sse \(name)"
            let connectedOnce = OnceFlag()
            let source = ServerSentEventSource(
                settings: settings,
                onLines: { lines, origin in
                    // The stream's position is its last event id: recorded with the batch, so a snapshot
                    // resumes the stream where its state ends (Last-Event-ID).
                    ingestor.ingestNative(lines, source: origin.source, position: Self.position(of: origin))
                },
                onOversizedLine: { origin, _ in ingestor.recordOversizedLine(source: origin.source) },
                onChange: { change in
                    switch change {
                    case .connected(let resumingAfter):
                        connectedOnce.set()
                        readiness.set(readinessName, problem: nil)
                        Log.info("event stream connected", ["url": name, "resuming_after": resumingAfter ?? ""])
                    case let .disconnected(reason, wasConnected, retryIn):
                        if !connectedOnce.isSet {
                            readiness.set(readinessName, problem: "not connected yet: \(reason)")
                        } else if reason.hasPrefix("a line longer than") {
                            // Connected, but what it sends cannot be read: not healthy.
                            readiness.set(readinessName, problem: reason)
                        }
                        Log.warn(wasConnected ? "event stream disconnected" : "event stream connection failed", [
                            "url": name, "reason": reason, "retry_in": String(format: "%.1fs", retryIn),
                        ])
                    }
                })
            return EventStream(source: source, name: name, readinessName: readinessName)
        }
    }

    /// A pattern that waits for its first file is ready (a follower started before its writer);
    /// one that cannot be scanned or opened is not.
    private static func setReadiness(_ readiness: Readiness, of tailer: FileTailer) {
        let statuses = tailer.patternStatuses
        let problems = statuses.filter { !$0.isWaitingForAFile }.compactMap { status in status.problem.map { "\(status.pattern): \($0)" } }
        let waiting = statuses.filter(\.isWaitingForAFile).map { "\($0.pattern): no file matches yet; it is followed from its first line when it appears" }
        readiness.set("events.file", problem: problems.isEmpty ? nil : problems.joined(separator: "; "),
                      note: waiting.isEmpty ? nil : waiting.joined(separator: "; "))
    }
}

/// A flag set once and read from other threads (an `Atomic` cannot be captured by a closure).
final class OnceFlag: Sendable {
    private let value = Atomic<Bool>(false)
    var isSet: Bool { value.load(ordering: .acquiring) }
    func set() { value.store(true, ordering: .releasing) }
}
