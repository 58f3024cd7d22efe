import ArgumentParser
import EventSources
import ExporterApp
import Foundation
import Tracking

// The exporter's flags in groups, each with its own help section: `serve` (and the command without a
// subcommand) takes them all; `replay` only those that shape a replay, so its help lists no flag it
// refuses. Each group checks its own flags and sets its part of `ExporterOptions`.

/// --web.*: the HTTP server.
struct WebFlags: ParsableArguments {
    @Option(name: .customLong("web.listen-address"), help: "Address to listen on for /metrics, /events and the API.")
    var listenAddress = ":9465"
    @Option(name: .customLong("web.external-url"), help: "URL under which operators reach the exporter, for links in alerts (default http://<hostname>:<port>).")
    var externalURL: String?
    @Option(name: .customLong("web.max-body-bytes"), help: "Largest POST /events body; larger ones get 413 before they are read.")
    var maxBodyBytes = 16 << 20
    @Option(name: .customLong("web.threads"), help: "HTTP poll threads (libmicrohttpd's): they read requests and send answers.")
    var threads = 4
    @Option(name: .customLong("web.handler-threads"), help: "Threads that run request handlers and password checks while the connection waits, so a slow one stalls only its own request. 0 runs them on the poll threads (--web.threads): about 0.1 ms less per request, but a slow scrape, journal fsync or password check then stalls the other connections of its thread.")
    var handlerThreads = 8
    @Option(name: .customLong("web.max-stream-clients"), help: "Readers of /api/v1/stream (the page, top) at once; more get 503 with Retry-After (progress_exporter_stream_clients).")
    var maxStreamClients = 1000
    @Option(name: .customLong("web.connection-timeout"), help: "Idle HTTP connections are closed after this long. (default: 30s)", transform: DurationArgument.parse)
    var connectionTimeout = DurationArgument(seconds: 30)
    @Option(name: .customLong("web.max-connections"), help: "Open HTTP connections in all; when every one is taken, the connection of the busiest address that has waited longest for its request is closed to let a new client in. (default: the open-files limit, raised to its hard limit at start, less 1024)")
    var maxConnections: Int?
    @Option(name: .customLong("web.max-connections-per-ip"), help: "Open HTTP connections from one client IP address; further ones are closed on arrival. 0: no limit.")
    var maxConnectionsPerIP = 128
    @Option(name: .customLong("web.request-timeout"), help: "A connection must deliver its full request (headers and body) within this long of opening, and each later keep-alive request within this long of its first byte, however steadily it trickles; else it is closed. 0: no deadline.")
    var requestTimeout = DurationArgument(seconds: 30)
    @Option(name: .customLong("web.max-body-buffer-bytes"), help: "Request body bytes held in memory across all connections; a POST that would go over gets 503 with Retry-After before it is read. 0: no limit.")
    var maxBodyBufferBytes = 256 << 20
    @Option(name: .customLong("web.gzip-level"), help: "gzip level (1 fastest ... 9 smallest) of /metrics answers to scrapers that accept gzip; 0 never compresses.")
    var gzipLevel = 1
    @Option(name: .customLong("web.events-bearer-token-file"), help: "File holding a token that POST /events must send as 'Authorization: Bearer <token>'. An empty or unreadable file is refused at start.")
    var bearerTokenFile: String?
    @Option(name: .customLong("web.config.file"), help: "Web config (YAML, the Prometheus exporter-toolkit's format): TLS (tls_server_config), client certificates and basic auth (basic_auth_users). Re-read on SIGHUP and POST /-/reload.")
    var webConfigFile: String?
    @Flag(name: .customLong("web.enable-lifecycle"), help: "Allow POST /-/reload (as Prometheus's flag); without it the endpoint answers 403. SIGHUP reloads either way.")
    var enableLifecycle = false


    func validate() throws {
        guard (0...9).contains(gzipLevel) else { throw ValidationError("--web.gzip-level must be 0 (off) to 9, not \(gzipLevel)") }
        for count in [("--web.threads", threads), ("--web.max-stream-clients", maxStreamClients), ("--web.max-body-bytes", maxBodyBytes)] where count.1 < 1 {
            throw ValidationError("\(count.0) must be 1 or more, not \(count.1)")
        }
        guard handlerThreads >= 0 else { throw ValidationError("--web.handler-threads must be 0 (handlers on the poll threads) or more, not \(handlerThreads)") }
    }

    func apply(to o: inout ExporterOptions) throws {
        o.listenAddress = listenAddress
        o.externalURL = externalURL
        o.maxBodyBytes = maxBodyBytes
        o.gzipLevel = gzipLevel
        o.threadPoolSize = threads
        o.handlerThreads = handlerThreads
        o.maxStreamClients = maxStreamClients
        o.connectionTimeoutSeconds = Int(connectionTimeout.seconds)
        o.enableLifecycle = enableLifecycle
        o.webConfigFile = webConfigFile
        o.maxConnections = maxConnections ?? OpenFilesLimit.raised().defaultMaxConnections
        o.maxConnectionsPerIP = maxConnectionsPerIP
        o.requestTimeoutSeconds = requestTimeout.seconds
        o.maxBodyBufferBytes = maxBodyBufferBytes
        if let bearerTokenFile {
            do {
                o.eventsBearerToken = try BearerToken.load(file: bearerTokenFile)
            } catch {
                throw ValidationError("--web.events-bearer-token-file \(bearerTokenFile): \(error)")
            }
        }
    }
}

/// --config.file and --alerting.*: rules, receivers and their delivery.
struct AlertingFlags: ParsableArguments {
    @Option(name: .customLong("config.file"), help: "Alerting config (YAML): rules, receivers, routes. Without it the built-in rules log their alerts.")
    var configFile: String?
    @Option(name: .customLong("alerting.shutdown-grace"), help: "On SIGTERM/SIGINT, wait this long for alert deliveries in flight, then cancel them; a second signal exits at once.")
    var alertingShutdownGrace = DurationArgument(seconds: 5)

    func apply(to o: inout ExporterOptions) {
        o.configFile = configFile
        o.alertingShutdownGrace = alertingShutdownGrace.seconds
    }
}

/// Where events come from besides POST /events: files, standard input, SSE streams, NATS.
struct SourceFlags: ParsableArguments {
    @Option(name: .customLong("events.file"), help: "Event file to follow: a path, a glob, a folder of *.jsonl, or - for standard input. Repeatable.")
    var eventFiles: [String] = []
    @Option(name: .customLong("events.sse-url"), help: "Server-Sent Events stream (http or https) to subscribe to: each event's data is native event lines; reconnects with backoff and resumes with Last-Event-ID. Repeatable.")
    var sseURLs: [String] = []
    @Option(name: .customLong("events.nats-url"), help: "NATS server URL (nats:// or tls://) to read events from a JetStream stream; repeatable for a cluster. Each message's payload is native event lines.")
    var natsURLs: [String] = []
    @Option(name: .customLong("events.nats-stream"), help: "The JetStream stream to read (needed with --events.nats-url).")
    var natsStream: String?
    @Option(name: .customLong("events.nats-subject"), help: "The consumer's filter subject, e.g. progress.0.> for shard 0 of a partitioned stream.")
    var natsSubject = "progress.>"
    @Option(name: .customLong("events.nats-consumer"), help: "The durable pull consumer's name, created when missing; one per shard.")
    var natsConsumer = "progress-exporter"
    @Option(name: .customLong("events.nats-token-file"), help: "File holding the NATS token.")
    var natsTokenFile: String?
    @Option(name: .customLong("events.nats-credentials-file"), help: "NATS credentials file (.creds: user JWT and NKey seed).")
    var natsCredentialsFile: String?
    @Option(name: .customLong("events.nats-tls-ca-file"), help: "CA certificate that signed the NATS server's certificate (turns TLS on).")
    var natsCAFile: String?
    @Option(name: .customLong("events.nats-tls-cert-file"), help: "Client certificate for NATS mutual TLS (with --events.nats-tls-key-file).")
    var natsCertFile: String?
    @Option(name: .customLong("events.nats-tls-key-file"), help: "Client key for NATS mutual TLS.")
    var natsKeyFile: String?
    @Option(name: .customLong("events.nats-ack-wait"), help: "Ack wait of a consumer the exporter creates: a message not acknowledged this long is delivered again. Without --storage.journal, messages are acknowledged once a snapshot holds them, so it must exceed twice --storage.snapshot-interval. Messages handed to an exporter that died are delivered again after it. (default: 30s)", transform: DurationArgument.parse)
    var natsAckWait = DurationArgument(seconds: 30)
    @Option(name: .customLong("events.sse-bearer-token-file"), help: "File holding a token sent to every --events.sse-url stream as 'Authorization: Bearer <token>'. An empty or unreadable file is refused at start.")
    var sseBearerTokenFile: String?
    @Option(name: .customLong("events.offsets-file"), help: "Where to save the read offsets of followed files, for people and tools; a restart resumes from the --storage.path snapshot, not from this file.")
    var offsetsFile: String?
    func validate() throws {
        if eventFiles.filter({ $0 == "-" }).count > 1 { throw ValidationError("--events.file - may be given once") }
    }

    /// `storage`: the NATS ack wait is checked against the snapshot interval when there is no journal.
    func apply(to o: inout ExporterOptions, storage: StorageFlags) throws {
        o.eventFiles = eventFiles
        o.sseURLs = try Self.checkedStreamURLs(sseURLs)
        if let sseBearerTokenFile {
            guard !sseURLs.isEmpty else { throw ValidationError("--events.sse-bearer-token-file needs --events.sse-url") }
            do {
                o.sseBearerToken = try BearerToken.load(file: sseBearerTokenFile)
            } catch {
                throw ValidationError("--events.sse-bearer-token-file \(sseBearerTokenFile): \(error)")
            }
        }
        o.nats = try natsSettings(storage: storage)
        o.offsetsFile = offsetsFile
    }

    /// `--events.nats-*`: checked together; nil without `--events.nats-url`.
    private func natsSettings(storage: StorageFlags) throws -> NATSSource.Settings? {
        let companions: [(String, Bool)] = [("--events.nats-stream", natsStream != nil), ("--events.nats-token-file", natsTokenFile != nil),
                                           ("--events.nats-credentials-file", natsCredentialsFile != nil), ("--events.nats-tls-ca-file", natsCAFile != nil),
                                           ("--events.nats-tls-cert-file", natsCertFile != nil), ("--events.nats-tls-key-file", natsKeyFile != nil)]
        guard !natsURLs.isEmpty else {
            if let given = companions.first(where: \.1) { throw ValidationError("\(given.0) needs --events.nats-url") }
            return nil
        }
        for url in natsURLs where !(url.hasPrefix("nats://") || url.hasPrefix("tls://")) {
            throw ValidationError("--events.nats-url \(url): not a nats:// or tls:// URL")
        }
        guard let stream = natsStream, !stream.isEmpty else { throw ValidationError("--events.nats-url needs --events.nats-stream (the JetStream stream to read)") }
        guard !natsSubject.isEmpty, !natsSubject.contains(" ") else { throw ValidationError("--events.nats-subject \(natsSubject): not a subject") }
        guard !natsConsumer.isEmpty, natsConsumer.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) else {
            throw ValidationError("--events.nats-consumer \(natsConsumer): letters, digits, - and _ only")
        }
        guard (natsCertFile == nil) == (natsKeyFile == nil) else { throw ValidationError("--events.nats-tls-cert-file and --events.nats-tls-key-file go together") }
        if storage.storagePath != nil, !storage.journal, natsAckWait.seconds <= storage.snapshotInterval.seconds * 2 {
            throw ValidationError("--events.nats-ack-wait \(natsAckWait.seconds)s: without --storage.journal, messages are acknowledged once a snapshot holds them; make it more than twice --storage.snapshot-interval (\(storage.snapshotInterval.seconds)s), or use --storage.journal")
        }
        var settings = NATSSource.Settings(urls: natsURLs, stream: stream, subject: natsSubject, consumer: natsConsumer)
        if let natsTokenFile {
            do {
                settings.token = try BearerToken.load(file: natsTokenFile).secret
            } catch {
                throw ValidationError("--events.nats-token-file \(natsTokenFile): \(error)")
            }
        }
        for (flag, file) in [("--events.nats-credentials-file", natsCredentialsFile), ("--events.nats-tls-ca-file", natsCAFile),
                             ("--events.nats-tls-cert-file", natsCertFile), ("--events.nats-tls-key-file", natsKeyFile)] {
            if let file, !FileManager.default.isReadableFile(atPath: file) { throw ValidationError("\(flag) \(file): cannot read the file") }
        }
        settings.credentialsFile = natsCredentialsFile
        settings.caFile = natsCAFile
        settings.certificateFile = natsCertFile
        settings.keyFile = natsKeyFile
        settings.ackWait = .milliseconds(Int(natsAckWait.seconds * 1000))
        return settings
    }

    /// Each `--events.sse-url` must be an absolute http or https URL with a host, and given once.
    static func checkedStreamURLs(_ urls: [String]) throws -> [String] {
        for (index, url) in urls.enumerated() {
            let shown = Exporter.redactedStreamURL(url)
            guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
                  scheme == "http" || scheme == "https", let host = components.host, !host.isEmpty
            else {
                throw ValidationError("--events.sse-url \(shown): not an http or https URL with a host")
            }
            if urls[..<index].contains(url) { throw ValidationError("--events.sse-url \(shown) is given twice") }
        }
        return urls
    }
}

/// --storage.*: snapshots and the journal.
struct StorageFlags: ParsableArguments {
    @Option(name: .customLong("storage.path"), help: "Folder for snapshots of the state (jobs, agents, alerts, followed files' positions), restored at start. Without it, state lives in memory only.")
    var storagePath: String?
    @Option(name: .customLong("storage.snapshot-interval"), help: "How often a snapshot is written (also on SIGTERM/SIGINT).")
    var snapshotInterval = DurationArgument(seconds: 10)
    @Flag(name: .customLong("storage.journal"), help: "Write POSTed events (and standard input's lines) to a journal in --storage.path and fsync it before applying them, so a crash loses no acknowledged event and a 503 applied nothing.")
    var journal = false

    func apply(to o: inout ExporterOptions) throws {
        o.storagePath = storagePath
        guard snapshotInterval.seconds >= 1 else { throw ValidationError("--storage.snapshot-interval: at least 1s") }
        o.snapshotInterval = snapshotInterval.seconds
        guard !journal || storagePath != nil else { throw ValidationError("--storage.journal needs --storage.path (the journal lives beside the snapshots)") }
        o.journal = journal
    }
}

/// How events are read and what is kept of them: the format and its limits, de-duplication, the
/// agents and jobs held and exported, sharding.
struct TrackingFlags: ParsableArguments {
    @Option(name: .customLong("events.format"), help: "Format of the lines of followed files (--events.file) and of replayed logs: native or prodigy.")
    var eventFormat = "native"
    @Option(name: .customLong("events.max-line-bytes"), help: "Longer event lines are rejected (too_long).")
    var maxLineBytes = 1 << 20
    @Option(name: .customLong("events.max-id-bytes"), help: "Longest job, agent, item or event id. Ids are label values of every series of their job: 256 keeps a scrape of --jobs.max-tracked jobs under about 40 MB.")
    var maxIDBytes = 256
    @Option(name: .customLong("events.dedup-window"), help: "An event id seen again within this window is ignored. (default: 10m)", transform: DurationArgument.parse)
    var dedupWindow = DurationArgument(seconds: 600)
    @Option(name: .customLong("events.dedup-max-bytes"), help: "Memory the remembered event ids may take (their bytes plus 64 each); the oldest are forgotten first.")
    var dedupMaxBytes = 128 << 20

    @Option(name: .customLong("agents.max-series"), help: "Agents whose own series are exported; the rest are sampled out (job aggregates stay exact).")
    var maxAgentSeries = 1000
    @Option(name: .customLong("agents.keep"), help: "Regular expression (full match) of agent ids that always keep their own series. Repeatable.")
    var keepAgents: [String] = []
    @Option(name: .customLong("agents.job-max-series"), help: "REGEX=N: agents of jobs matching REGEX get at most N own series (within --agents.max-series). Repeatable; the first match wins.")
    var jobMaxSeries: [String] = []
    @Option(name: .customLong("agents.max-tracked"), help: "Agents tracked at all; events of further agents count for their job only.")
    var maxTrackedAgents = 1_000_000
    @Option(name: .customLong("agents.retention"), help: "An agent with no event for this long is forgotten. (default: 1h)", transform: DurationArgument.parse)
    var agentRetention = DurationArgument(seconds: 3600)
    @Option(name: .customLong("jobs.retention"), help: "An ended job is forgotten this long after it ended. (default: 1h)", transform: DurationArgument.parse)
    var jobRetention = DurationArgument(seconds: 3600)
    @Option(name: .customLong("jobs.silent-retention"), help: "A job of any status with no event for this long is forgotten, so abandoned jobs do not hold memory.")
    var silentJobRetention = DurationArgument(seconds: 86_400)
    @Option(name: .customLong("jobs.max-tracked"), help: "Jobs tracked at all; events of further jobs are dropped and counted (progress_exporter_untracked_job_events_total). Each job exports about 45 series.")
    var maxTrackedJobs = 2_000
    @Option(name: .customLong("jobs.failure-reasons"), help: "Failure reasons of a job with a series of their own in progress_job_failures_by_reason_total (the first to come); the rest count as reason=\"other\".")
    var failureReasons = 5

    @Option(name: .customLong("shard.index"), help: "This exporter's shard, 0 to --shard.count - 1: it keeps the jobs whose id hashes to it (FNV-1a 64 of the UTF-8 id, modulo the count) and ignores the rest.")
    var shardIndex: Int?
    @Option(name: .customLong("shard.count"), help: "How many exporters share the jobs; give it with --shard.index.")
    var shardCount: Int?

    func validate() throws {
        guard ExporterOptions.EventFormat(rawValue: eventFormat) != nil else {
            throw ValidationError("--events.format must be native or prodigy, not \(eventFormat)")
        }
        let counts: [(flag: String, value: Int, least: Int)] = [
            ("--events.max-line-bytes", maxLineBytes, 1), ("--events.max-id-bytes", maxIDBytes, 1),
            ("--agents.max-series", maxAgentSeries, 0), ("--agents.max-tracked", maxTrackedAgents, 0),
        ]
        for count in counts where count.value < count.least {
            throw ValidationError("\(count.flag) must be \(count.least) or more, not \(count.value)")
        }
        _ = try shard()
    }

    /// Both shard flags or neither; a shard index outside the count is an error.
    func shard() throws -> ShardFilter? {
        switch (shardIndex, shardCount) {
        case (nil, nil): return nil
        case (nil, _?): throw ValidationError("--shard.count needs --shard.index (this exporter's shard, 0 to count - 1)")
        case (_?, nil): throw ValidationError("--shard.index needs --shard.count (how many exporters share the jobs)")
        case (let index?, let count?):
            do { return try ShardFilter(index: index, count: count) } catch { throw ValidationError(error.description) }
        }
    }

    func apply(to o: inout ExporterOptions) throws {
        o.eventFormat = ExporterOptions.EventFormat(rawValue: eventFormat) ?? .native
        o.decoderLimits.maxLineBytes = maxLineBytes
        o.decoderLimits.maxIdBytes = maxIDBytes
        o.store.dedupWindow = dedupWindow.seconds
        guard dedupMaxBytes >= 1 << 20 else { throw ValidationError("--events.dedup-max-bytes: at least 1048576 (1 MiB)") }
        o.store.maxDedupBytes = dedupMaxBytes
        o.store.maxAgentSeries = maxAgentSeries
        o.store.maxTrackedAgents = maxTrackedAgents
        for value in keepAgents {
            do {
                o.store.alwaysKeepAgents.append(try IDPattern(value))
            } catch {
                throw ValidationError("--agents.keep: \(error)")
            }
        }
        for value in jobMaxSeries {
            guard let equals = value.lastIndex(of: "="), let limit = Int(value[value.index(after: equals)...]), limit >= 0 else {
                throw ValidationError("--agents.job-max-series \(value): expected REGEX=N with N >= 0")
            }
            do {
                o.store.jobMaxAgentSeries.append((try IDPattern(String(value[..<equals])), limit))
            } catch {
                throw ValidationError("--agents.job-max-series: \(error)")
            }
        }
        o.store.agentRetention = agentRetention.seconds
        o.store.jobRetention = jobRetention.seconds
        o.store.silentJobRetention = silentJobRetention.seconds
        guard maxTrackedJobs >= 1 else { throw ValidationError("--jobs.max-tracked: at least 1") }
        o.store.maxTrackedJobs = maxTrackedJobs
        guard (0...FailureLogLimits.maxReasons).contains(failureReasons) else {
            throw ValidationError("--jobs.failure-reasons: 0 to \(FailureLogLimits.maxReasons)")
        }
        o.store.failureReasons = failureReasons
        o.shard = try shard()
    }
}

/// --log.*: the log's level and format.
struct LogFlags: ParsableArguments {
    @Option(name: .customLong("log.level"), help: "Least severe log level written: debug, info, warn or error.")
    var logLevel = LogLevel.info
    @Option(name: .customLong("log.format"), help: "Log line format on standard error: logfmt or json (one object per line).")
    var logFormat = LogFormat.logfmt
}

/// --demo and --demo.*: the built-in simulation.
struct DemoFlags: ParsableArguments {
    @Flag(name: .customLong("demo"), help: "Feed the exporter from a built-in simulation of job runners.")
    var demo = false
    @Option(name: .customLong("demo.jobs"), help: "Simulated jobs running at once; each starts its next run (NAME-run2, -run3, ...) 30 s after a run ends.")
    var demoJobs = 3
    @Option(name: .customLong("demo.agents"), help: "Simulated agents per job.")
    var demoAgents = 25
    @Option(name: .customLong("demo.items"), help: "Items per simulated job.")
    var demoItems = 3000
    @Option(name: .customLong("demo.item-seconds"), help: "Mean seconds per simulated item.")
    var demoItemSeconds = 2.0

    var options: DemoOptions {
        var d = DemoOptions()
        d.jobs = demoJobs
        d.agentsPerJob = demoAgents
        d.itemsPerJob = demoItems
        d.meanItemSeconds = demoItemSeconds
        return d
    }

    func validate() throws {
        guard let (setting, reason) = options.problem() else { return }
        let flag = switch setting {
        case .jobs: "--demo.jobs"
        case .agentsPerJob: "--demo.agents"
        case .itemsPerJob: "--demo.items"
        case .meanItemSeconds: "--demo.item-seconds"
        case .failureRate: "the failure rate"
        }
        throw ValidationError("\(flag) \(reason)")
    }

    func apply(to o: inout ExporterOptions) {
        guard demo else { return }
        o.demo = options
    }
}
