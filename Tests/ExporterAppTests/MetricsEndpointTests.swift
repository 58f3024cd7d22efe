import Events
import Exposition
import Foundation
import MicroHTTP
import Testing
@testable import Tracking
@testable import ExporterApp

@Suite struct MetricsEndpointTests {
    static func heartbeat(_ job: String, _ agent: String) -> Event {
        Event(kind: .agentHeartbeat, job: job, agent: agent, item: nil, time: nil)
    }

    static func scrape(_ endpoint: MetricsEndpoint) -> String {
        let response = endpoint.handle(HTTPRequest(method: "GET", path: "/metrics"))
        guard case .pieces = response.body else { return "not sent as pieces" }
        return String(decoding: response.bodyBytes ?? [], as: UTF8.self)
    }

    /// The buffers of a scrape go back to the pool once its response is gone and the next scrape
    /// writes over them: what it serves must be the new state, nothing left of the old one.
    @Test func aScrapeAfterAnotherServesOnlyTheNewState() {
        let store = ProgressStore(options: StoreOptions())
        let endpoint = MetricsEndpoint(store: store)
        store.apply((0 ..< 30).map { Self.heartbeat("etl", "agent-\($0)") }, source: "test")
        let first = Self.scrape(endpoint)
        store.apply([Self.heartbeat("zz-late", "solo")], source: "test")
        let second = Self.scrape(endpoint)
        #expect(first.contains("progress_agent_last_seen_timestamp_seconds{job_name=\"etl\",agent=\"agent-29\"}"))
        #expect(!first.contains("zz-late"))
        #expect(second.contains("progress_exporter_tracked_agents 31\n"))
        #expect(second.components(separatedBy: "progress_agent_last_seen_timestamp_seconds{").count - 1 == 31)
        #expect(second.components(separatedBy: "# TYPE progress_agent_state gauge").count - 1 == 1)
    }

    @Test func aRenderStillBeingSentKeepsItsBuffersAndTheNextRenderGetsNewOnes() {
        let pool = RenderBufferPool()
        let first = pool.take()
        var writer = ExpositionWriter(format: .prometheusText, reusing: first.own)
        writer.family(MetricFamily("demo_total", .counter, help: "Demo."))
        var rendered: RenderedMetrics? = RenderedMetrics(pieces: writer.finishPieces(), buffers: first, pool: pool)
        #expect(pool.take() !== first, "the first render's buffers are still being sent")
        withExtendedLifetime(rendered) {}
        rendered = nil
        #expect(pool.take() === first, "once sent, the next render reuses them")
    }

    /// A slow scraper's answer still points into its render's buffers while the next scrape
    /// renders: the next scrape must write elsewhere.
    @Test func anAnswerNotYetSentKeepsItsBytesWhileAnotherScrapeRenders() {
        let store = ProgressStore(options: StoreOptions())
        let endpoint = MetricsEndpoint(store: store)
        store.apply((0 ..< 20).map { Self.heartbeat("etl", "agent-\($0)") }, source: "test")
        let held = endpoint.handle(HTTPRequest(method: "GET", path: "/metrics"))
        let heldBytes = held.bodyBytes
        store.apply((0 ..< 20).map { Self.heartbeat("other", "agent-\($0)") }, source: "test")
        let next = Self.scrape(endpoint)
        let unchanged = held.bodyBytes == heldBytes
        #expect(unchanged, "the held answer's bytes were written over")
        #expect(!String(decoding: heldBytes ?? [], as: UTF8.self).contains("job_name=\"other\""))
        #expect(next.contains("job_name=\"other\""))
    }

    /// A gzip scrape decodes (with the gzip command) to what a plain one serves, and the next gzip
    /// scrape after an event shows the event: no encoding of an earlier render is handed out again.
    @Test func gzipScrapesDecodeToTheCurrentState() throws {
        let store = ProgressStore(options: StoreOptions())
        let endpoint = MetricsEndpoint(store: store, gzipLevel: 1)
        store.apply((0 ..< 50).map { Self.heartbeat("etl", "agent-\($0)") }, source: "test")
        let request = HTTPRequest(method: "GET", path: "/metrics", headers: ["Accept-Encoding": "gzip"])
        let first = endpoint.handle(request)
        #expect(first.headers.contains { $0.name == "Content-Encoding" && $0.value == "gzip" })
        let decoded = try Self.gunzip(first.bodyBytes ?? [])
        let plain = Self.scrape(endpoint)
        #expect(Self.series(decoded) == Self.series(plain))
        #expect(decoded.contains("progress_agent_last_seen_timestamp_seconds{job_name=\"etl\",agent=\"agent-49\"}"))
        store.apply([Self.heartbeat("zz-late", "solo")], source: "test")
        let second = try Self.gunzip(endpoint.handle(request).bodyBytes ?? [])
        #expect(second.contains("job_name=\"zz-late\""))
        #expect(!decoded.contains("zz-late"))
        // etl's lines were deflated once and kept; once etl changes, its new lines are sent.
        var failed = Event(kind: .agentState, job: "etl", agent: "agent-7")
        failed.state = .failed
        store.apply([failed], source: "test")
        let third = try Self.gunzip(endpoint.handle(request).bodyBytes ?? [])
        #expect(third.contains(#"progress_agent_state{job_name="etl",agent="agent-7",state="failed"} 1"#))
        #expect(!second.contains(#"progress_agent_state{job_name="etl",agent="agent-7",state="failed"} 1"#))
        #expect(Self.series(third) == Self.series(Self.scrape(endpoint)))
    }

    /// Sample lines without their values (process and scrape-time values move between scrapes).
    static func series(_ exposition: String) -> [Substring] {
        exposition.split(separator: "\n").filter { !$0.hasPrefix("#") }.map { $0[..<($0.lastIndex(of: " ") ?? $0.endIndex)] }
    }

    /// `gzip -d -c`, a decoder independent of the exporter's encoder.
    static func gunzip(_ bytes: [UInt8]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/gzip")
        process.arguments = ["-d", "-c"]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        let writer = Thread {
            input.fileHandleForWriting.write(Data(bytes))
            try? input.fileHandleForWriting.close()
        }
        writer.start()
        let decoded = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        return String(decoding: decoded, as: UTF8.self)
    }

    @Test func aSetLargerThanTheIdleLimitIsFreedNotKept() {
        let pool = RenderBufferPool(maxIdleBytes: 1 << 20)
        let small = pool.take()
        pool.put(small)
        #expect(pool.take() === small)
        let large = RenderBuffers()
        large.own.reserve(2 << 20)
        pool.put(large)
        #expect(pool.take() !== large, "a set over the limit is not kept")
    }
}
