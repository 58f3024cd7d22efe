import Events
import EventSources
import Tracking

/// Everything the exporter can be told, as plain values; the executable fills it from flags.
public struct ExporterOptions: Sendable {
    public enum EventFormat: String, Sendable, CaseIterable {
        case native, prodigy
    }

    public var listenAddress = ":9465"
    public var threadPoolSize = 4
    /// `--web.handler-threads`: threads running handlers and password checks off the poll threads.
    public var handlerThreads = 8
    /// `--web.max-stream-clients`: readers of /api/v1/stream at once; more get 503.
    public var maxStreamClients = 1000
    public var connectionTimeoutSeconds = 30
    public var maxBodyBytes = 16 << 20
    /// `--web.max-connections`: open HTTP connections in all; further ones are closed on arrival.
    public var maxConnections = 1024
    /// `--web.max-connections-per-ip`: open HTTP connections from one client address; 0 for no limit.
    public var maxConnectionsPerIP = 128
    /// `--web.request-timeout`: seconds a connection gets to deliver a request it has begun; 0 for none.
    public var requestTimeoutSeconds = 30.0
    /// `--web.max-body-buffer-bytes`: request body bytes held in memory across connections; 0 for no limit.
    public var maxBodyBufferBytes = 256 << 20
    /// zlib level (1...9) for gzip-encoded /metrics answers to scrapers that accept gzip; 0 never encodes.
    public var gzipLevel = 1
    /// When set, POST /events needs `Authorization: Bearer <token>`.
    public var eventsBearerToken: BearerToken?
    /// `--web.config.file`: the exporter-toolkit's web config (TLS, client certificates, basic auth); nil serves plain HTTP to anyone.
    public var webConfigFile: String?
    /// `--web.enable-lifecycle`: allow POST /-/reload; without it the endpoint answers 403 (SIGHUP still reloads).
    public var enableLifecycle = false
    public var decoderLimits = DecoderLimits()
    public var store = StoreOptions()
    /// `--events.file` values: paths, globs, folders, or `-` for standard input.
    public var eventFiles: [String] = []
    public var eventFormat = EventFormat.native
    /// `--events.sse-url` values: Server-Sent Events streams of native events to subscribe to.
    public var sseURLs: [String] = []
    /// `--events.sse-bearer-token-file`: sent to every stream as `Authorization: Bearer <token>`.
    public var sseBearerToken: BearerToken?
    /// Seconds a stream may stay silent (not even a keep-alive comment) before it is reconnected.
    public var sseReadTimeout = 120.0
    /// `--events.nats-url` and its companions: a JetStream stream read through a durable pull consumer.
    public var nats: NATSSource.Settings?
    /// Where the tailer writes the read offsets of followed files, for people and tools (never read back: a restart resumes from the snapshot).
    public var offsetsFile: String?
    /// `--storage.path`: where snapshots of the state are kept; nil keeps state in memory only.
    public var storagePath: String?
    /// `--storage.snapshot-interval`, seconds.
    public var snapshotInterval: Double = 10
    /// `--storage.journal`: POSTed events are fsynced to a journal before their 202.
    public var journal = false
    /// Run an in-process simulation as an event source.
    public var demo: DemoOptions?
    /// `--config.file`: alerting rules, receivers and routes; nil runs the built-in rules with the log receiver.
    public var configFile: String?
    /// The URL operators reach the exporter at, for links in alerts; default `http://<hostname>:<port>`.
    public var externalURL: String?
    /// `--alerting.shutdown-grace`: seconds a stop waits for alert deliveries in flight before cancelling them.
    public var alertingShutdownGrace = 5.0
    /// Seconds between upkeep passes (expiry of jobs and agents, job history points); nothing is smoothed.
    public var tickInterval = 1.0
    /// `--shard.index` / `--shard.count`: keep only the jobs this shard owns; nil keeps every job.
    public var shard: ShardFilter?

    public init() {}
}
