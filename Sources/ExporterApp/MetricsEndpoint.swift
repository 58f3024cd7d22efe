import Exposition
import Foundation
import HTTPCompression
import MicroHTTP
import Synchronization
import Tracking

/// GET /metrics: the store's families, the exporter's own and the process's, in the format the scraper asked for.
final class MetricsEndpoint: Sendable {
    private let store: ProgressStore
    /// The `index` and `count` labels of `progress_exporter_shard_info`, when this exporter is one shard of several.
    private let shardLabels: LabelSet?
    /// Per scrape: which agents must stay in the sample (those with alerts).
    private let keepAgents: @Sendable () -> @Sendable (String, String) -> Bool
    private let extraCollectors: @Sendable (inout ExpositionWriter) -> Void
    /// nil when gzip is off (`--web.gzip-level 0`).
    private let gzip: GzipEncoder?
    /// Size of the last output and duration of the last render, for the next scrape.
    private let process = ProcessMetrics()
    private let last = Mutex<(bytes: Int, seconds: Double)>((0, 0))
    private let shared = SharedRender<ExpositionFormat>()
    /// Section buffers of finished renders, reused by the next ones so a scrape does not fault in
    /// fresh memory for every family; at most one per render running at once.
    private let idleSections = Mutex<[CollectSections]>([])

    static let scrapeDuration = MetricFamily(
        "progress_exporter_scrape_duration_seconds", .gauge, help: "Time the previous /metrics render took.")
    static let buildInfo = MetricFamily(
        "progress_exporter_build_info", .gauge, help: "Always 1; the exporter's version as a label.")
    static let buildLabels = LabelSet([("version", BuildInfo.version)])
    static let shardInfo = MetricFamily(
        "progress_exporter_shard_info", .gauge, help: "Always 1 on a sharded exporter; its shard index and the shard count as labels.")

    init(
        store: ProgressStore,
        shard: ShardFilter? = nil,
        keepAgents: @escaping @Sendable () -> @Sendable (String, String) -> Bool = { { _, _ in false } },
        gzipLevel: Int = 1,
        extraCollectors: @escaping @Sendable (inout ExpositionWriter) -> Void = { _ in }
    ) {
        self.store = store
        shardLabels = shard.map { LabelSet([("index", "\($0.index)"), ("count", "\($0.count)")]) }
        self.keepAgents = keepAgents
        gzip = gzipLevel > 0 ? GzipEncoder(level: gzipLevel) : nil
        self.extraCollectors = extraCollectors
    }

    func render(format: ExpositionFormat) -> [UInt8] {
        let started = DispatchTime.now().uptimeNanoseconds
        let previous = last.withLock { $0 }
        var buffer: [UInt8] = []
        // Reserve what the last scrape needed, so the buffer grows once instead of doubling its way up.
        buffer.reserveCapacity(previous.bytes + previous.bytes / 8 + 4096)
        var writer = ExpositionWriter(format: format, reusing: buffer)
        let sections = idleSections.withLock { $0.popLast() } ?? CollectSections()
        store.collect(into: &writer, mustKeep: keepAgents(), sections: sections)
        idleSections.withLock { $0.append(sections) }
        extraCollectors(&writer)
        writer.family(Self.scrapeDuration)
        writer.sample(Self.scrapeDuration, .empty, .empty, previous.seconds)
        writer.family(Self.buildInfo)
        writer.sample(Self.buildInfo, Self.buildLabels, .empty, 1)
        if let shardLabels {
            writer.family(Self.shardInfo)
            writer.sample(Self.shardInfo, shardLabels, .empty, 1)
        }
        process.collect(into: &writer)
        let bytes = writer.finish()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        last.withLock { $0 = (bytes.count, seconds) }
        return bytes
    }

    /// The exposition in the format the Accept header asks for, gzip-encoded when Accept-Encoding allows it.
    func handle(_ request: HTTPRequest) -> HTTPResponse {
        let format = ExpositionFormat.negotiate(accept: request.header("accept"))
        let body = shared.bytes(for: format) { render(format: format) }
        // Vary names every header the answer depends on, so a cache never hands gzip or OpenMetrics to a client that did not ask.
        let vary = gzip == nil ? "Accept" : "Accept, Accept-Encoding"
        let plain = HTTPResponse.bytes(body, contentType: format.contentType).adding(header: "Vary", vary)
        guard let gzip, ContentCoding.negotiate(acceptEncoding: request.header("accept-encoding")) == .gzip else { return plain }
        do {
            return HTTPResponse.bytes(try gzip.encode(body), contentType: format.contentType)
                .adding(header: "Content-Encoding", "gzip")
                .adding(header: "Vary", vary)
        } catch {
            Log.error("could not gzip /metrics; sending it unencoded", ["err": "\(error)"])
            return plain
        }
    }
}
