import Clocks
import Exposition
import Foundation
import HTTPCompression
import MicroHTTP
import Synchronization
import Tracking

/// GET /metrics: the store's families, the exporter's own and the process's, in the format the scraper asked for.
final class MetricsEndpoint: Sendable {
    private let exposition: StoreExposition
    /// The `index` and `count` labels of `progress_exporter_shard_info`, when this exporter is one shard of several.
    private let shardLabels: LabelSet?
    /// Per scrape: which agents must stay in the sample (those with alerts).
    private let keepAgents: @Sendable () -> KeptAgents
    private let extraCollectors: @Sendable (inout ExpositionWriter) -> Void
    /// nil when gzip is off (`--web.gzip-level 0`).
    private let gzip: GzipEncoder?
    /// At igzip's levels (1-3): the deflated bytes of unchanged jobs, kept from one gzip answer to the next.
    private let gzipSegments: GzipSegments?
    private let process = ProcessMetrics()
    /// How long the previous render took, exported by the next one.
    private let lastSeconds = Mutex<Double>(0)
    private let shared = SharedRender<ExpositionFormat, RenderedMetrics>()
    /// Scrapes that share a render share its gzip encoding too (two Prometheus servers of an HA pair
    /// scraping at once cost one render and one compression), keyed by the render: one that a later
    /// scrape did not share (say, finished before an event it must show was applied) is never handed to it.
    private let sharedGzip = SharedRender<ObjectIdentifier, Result<[UInt8], GzipError>>()
    private let buffers = RenderBufferPool()

    static let scrapeDuration = MetricFamily(
        "progress_exporter_scrape_duration_seconds", .gauge, help: "Time the previous /metrics render took.")
    static let gzipSegmentsFamily = MetricFamily(
        "progress_exporter_gzip_segments_total", .counter,
        help: "Parts of gzip-encoded /metrics answers: deflated bytes of unchanged jobs sent again (reused) or parts compressed (compressed).")
    static let buildInfo = MetricFamily(
        "progress_exporter_build_info", .gauge, help: "Always 1; the exporter's version, the git commit it was built from and its Swift version as labels.")
    static let buildLabels = LabelSet([("version", BuildInfo.version), ("revision", BuildInfo.revision), ("swiftversion", BuildInfo.swiftVersion)])
    static let shardInfo = MetricFamily(
        "progress_exporter_shard_info", .gauge, help: "Always 1 on a sharded exporter; its shard index and the shard count as labels.")

    init(
        store: ProgressStore,
        shard: ShardFilter? = nil,
        keepAgents: @escaping @Sendable () -> KeptAgents = { .none },
        gzipLevel: Int = 1,
        extraCollectors: @escaping @Sendable (inout ExpositionWriter) -> Void = { _ in }
    ) {
        exposition = StoreExposition(store)
        shardLabels = shard.map { LabelSet([("index", "\($0.index)"), ("count", "\($0.count)")]) }
        self.keepAgents = keepAgents
        gzip = gzipLevel > 0 ? GzipEncoder(level: gzipLevel) : nil
        gzipSegments = (1...3).contains(gzipLevel) ? GzipSegments(level: gzipLevel) : nil
        self.extraCollectors = extraCollectors
    }

    func render(format: ExpositionFormat) -> RenderedMetrics {
        let started = MonotonicClock.nanoseconds()
        let previousSeconds = lastSeconds.withLock { $0 }
        let reused = buffers.take()
        var writer = ExpositionWriter(format: format, reusing: reused.own)
        exposition.collect(into: &writer, mustKeep: keepAgents(), sections: reused.sections)
        extraCollectors(&writer)
        writer.family(Self.scrapeDuration)
        writer.sample(Self.scrapeDuration, .empty, .empty, previousSeconds)
        writer.family(Self.buildInfo)
        writer.sample(Self.buildInfo, Self.buildLabels, .empty, 1)
        if let shardLabels {
            writer.family(Self.shardInfo)
            writer.sample(Self.shardInfo, shardLabels, .empty, 1)
        }
        if let gzipSegments {
            let counts = gzipSegments.segmentCounts
            writer.family(Self.gzipSegmentsFamily)
            writer.sample(Self.gzipSegmentsFamily, LabelSet([("outcome", "compressed")]), .empty, Double(counts.compressed))
            writer.sample(Self.gzipSegmentsFamily, LabelSet([("outcome", "reused")]), .empty, Double(counts.reused))
        }
        process.collect(into: &writer)
        let rendered = RenderedMetrics(pieces: writer.finishPieces(), buffers: reused, pool: buffers)
        let seconds = Double(MonotonicClock.nanoseconds() &- started) / 1e9
        lastSeconds.withLock { $0 = seconds }
        return rendered
    }

    /// The exposition in the format the Accept header asks for, gzip-encoded when Accept-Encoding allows it.
    func handle(_ request: HTTPRequest) -> HTTPResponse {
        let format = ExpositionFormat.negotiate(accept: request.header("accept"))
        let rendered = shared.value(for: format) { render(format: format) }
        // Vary names every header the answer depends on, so a cache never hands gzip or OpenMetrics to a client that did not ask.
        let vary = gzip == nil ? "Accept" : "Accept, Accept-Encoding"
        // The pieces go out as they are, not joined; `rendered` keeps their buffers until they are sent.
        // Made only when sent: a body of many pieces is partly joined on the way (`ResponsePieces`).
        func plain() -> HTTPResponse {
            HTTPResponse(
                headers: [.init("Content-Type", format.contentType), .init("Vary", vary)],
                body: .pieces(ResponsePieces(rendered.pieces.buffers, owner: rendered)))
        }
        guard let gzip, ContentCoding.negotiate(acceptEncoding: request.header("accept-encoding")) == .gzip else { return plain() }
        // While the flight runs its leader holds `rendered`, so the identifier names no other render.
        let result = sharedGzip.value(for: ObjectIdentifier(rendered)) {
            withExtendedLifetime(rendered) {
                Result { () throws(GzipError) in
                    guard let gzipSegments else { return try gzip.encode(pieces: rendered.pieces.buffers) }
                    return try gzipSegments.encode(rendered.pieces.parts.map { part in
                        GzipSegments.Part(bytes: part.bytes, key: part.kept.map { .init(owner: $0.buffer, start: $0.start, end: $0.end) })
                    })
                }
            }
        }
        do {
            let encoded = try result.get()
            return HTTPResponse.bytes(encoded, contentType: format.contentType)
                .adding(header: "Content-Encoding", "gzip")
                .adding(header: "Vary", vary)
        } catch {
            Log.error("could not gzip /metrics; sending it unencoded", ["err": "\(error)"])
            return plain()
        }
    }
}

/// One finished render: its pieces, and the buffers they point into, which go back to the pool
/// when the last response sending them is done (this object's end).
final class RenderedMetrics: Sendable {
    let pieces: ExpositionPieces
    private let buffers: RenderBuffers
    private let pool: RenderBufferPool

    init(pieces: ExpositionPieces, buffers: RenderBuffers, pool: RenderBufferPool) {
        self.pieces = pieces
        self.buffers = buffers
        self.pool = pool
    }

    deinit { pool.put(buffers) }
}

/// The buffers one render writes into: a section per store family and the writer's own.
final class RenderBuffers: Sendable {
    let sections = CollectSections()
    let own = ByteBuffer()

    var capacity: Int { sections.capacity + own.capacity }
}

/// Buffers of renders whose responses were sent, reused by the next renders so a scrape does not
/// fault in fresh memory for its whole body every time. Renders whose bodies are still being sent
/// (slow scrapers) get buffers of their own. One idle set is kept, the price of the reuse: its
/// buffers grow by doubling and never shrink, so it holds one to two times the body. A set larger
/// than `maxIdleBytes` is freed instead: at that size (some 40,000 agents) faulting the memory in
/// again is small beside the render, and an exporter that big should not carry it between scrapes.
final class RenderBufferPool: Sendable {
    private let idle = Mutex<[RenderBuffers]>([])
    let maxIdle = 1
    let maxIdleBytes: Int

    init(maxIdleBytes: Int = 64 << 20) {
        self.maxIdleBytes = maxIdleBytes
    }

    func take() -> RenderBuffers {
        idle.withLock { $0.popLast() } ?? RenderBuffers()
    }

    func put(_ buffers: RenderBuffers) {
        guard buffers.capacity <= maxIdleBytes else { return }
        idle.withLock { if $0.count < maxIdle { $0.append(buffers) } }
    }
}
