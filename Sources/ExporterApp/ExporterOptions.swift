import Events
import Tracking

/// Everything the exporter can be told, as plain values; the executable fills it from flags.
public struct ExporterOptions: Sendable {
    public enum EventFormat: String, Sendable, CaseIterable {
        case native, prodigy
    }

    public var listenAddress = ":9465"
    public var threadPoolSize = 4
    public var connectionTimeoutSeconds = 30
    public var maxBodyBytes = 16 << 20
    /// zlib level (1...9) for gzip-encoded /metrics answers to scrapers that accept gzip; 0 never encodes.
    public var gzipLevel = 1
    /// When set, POST /events needs `Authorization: Bearer <token>`.
    public var eventsBearerToken: String?
    public var decoderLimits = DecoderLimits()
    public var store = StoreOptions()
    /// `--events.file` values: paths, globs, folders, or `-` for standard input.
    public var eventFiles: [String] = []
    public var eventFormat = EventFormat.native
    /// Where the tailer keeps the read offsets of followed files, to resume after a restart.
    public var offsetsFile: String?
    /// Run an in-process simulation as an event source.
    public var demo: DemoOptions?
    /// `--config.file`: alerting rules, receivers and routes; nil runs the built-in rules with the log receiver.
    public var configFile: String?
    /// The URL operators reach the exporter at, for links in alerts; default `http://<hostname>:<port>`.
    public var externalURL: String?
    /// `--alerting.shutdown-grace`: seconds a stop waits for alert deliveries in flight before cancelling them.
    public var alertingShutdownGrace = 5.0
    /// Seconds between upkeep passes (ETC smoothing, expiry).
    public var tickInterval = 1.0
    /// `--shard.index` / `--shard.count`: keep only the jobs this shard owns; nil keeps every job.
    public var shard: ShardFilter?

    public init() {}
}
