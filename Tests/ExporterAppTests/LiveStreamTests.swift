import Events
import Exposition
import Foundation
import TestSupport
import Testing
@testable import Tracking
@testable import ExporterApp
@testable import MicroHTTP

/// The stream's loop driven by hand: coalescing, resume, paging and slow clients.
@Suite struct LiveStreamTests {
    static let t0 = 1_800_000_000.0

    struct SSEEvent: Equatable {
        var id: UInt64?
        var name: String
        var data: String
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(data.utf8))) as? [String: Any] ?? [:] }
        static func == (a: SSEEvent, b: SSEEvent) -> Bool { a.id == b.id && a.name == b.name && a.data == b.data }
    }

    final class Harness {
        let clock = ManualClock(LiveStreamTests.t0)
        let store: ProgressStore
        let stream: LiveStream

        init(_ configure: (inout LiveStream.Limits) -> Void = { _ in }) {
            store = ProgressStore(clock: clock)
            var limits = LiveStream.Limits()
            configure(&limits)
            stream = LiveStream(store: store, alerts: nil, limits: limits)
        }

        func connect(_ query: [String: String] = [:], lastEventID: String? = nil) throws -> HTTPStream {
            let response = stream.handle(HTTPRequest(method: "GET", path: "/api/v1/stream", query: query,
                                                     headers: lastEventID.map { ["Last-Event-ID": $0] } ?? [:]))
            guard case .stream(let body) = response.body else { throw TestFailure("no stream: \(response.status)") }
            return body
        }

        func post(_ lines: [String]) {
            let ingestor = Ingestor(store: store, limits: DecoderLimits())
            ingestor.ingestNative(Array((lines.joined(separator: "\n") + "\n").utf8), source: "test")
        }
    }

    struct TestFailure: Error { let text: String; init(_ text: String) { self.text = text } }

    /// Everything queued on `stream`, parsed into events (comments skipped).
    static func drain(_ stream: HTTPStream) -> [SSEEvent] {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let result = buffer.withUnsafeMutableBytes { stream.read(into: $0) }
            guard case .bytes(let count) = result else { break }
            bytes += buffer[0 ..< count]
        }
        return parse(String(decoding: bytes, as: UTF8.self))
    }

    static func parse(_ text: String) -> [SSEEvent] {
        text.components(separatedBy: "\n\n").compactMap { block -> SSEEvent? in
            var event = SSEEvent(id: nil, name: "message", data: "")
            var hasData = false
            for line in block.split(separator: "\n") where !line.hasPrefix(":") {
                if line.hasPrefix("id: ") { event.id = UInt64(line.dropFirst(4)) }
                if line.hasPrefix("event: ") { event.name = String(line.dropFirst(7)) }
                if line.hasPrefix("data: ") { event.data = String(line.dropFirst(6)); hasData = true }
            }
            return hasData ? event : nil
        }
    }

    static func jobIDs(_ event: SSEEvent) -> [String] {
        ((event.json["jobs"] as? [[String: Any]]) ?? []).compactMap { $0["job"] as? String }
    }

    static func started(_ job: String, _ agent: String, _ t: Double) -> String {
        #"{"type":"agent_started","job":"\#(job)","agent":"\#(agent)","item":"i-\#(agent)","ts":\#(t)}"#
    }

    @Test func changesBetweenRunsAreCoalescedIntoOneEventWithTheSequenceAsID() throws {
        let h = Harness()
        h.post([#"{"type":"job_started","job":"a","total_items":10,"ts":1800000000}"#])
        let client = try h.connect()
        h.stream.run()
        let first = Self.drain(client)
        #expect(first.map(\.name) == ["hello", "jobs"])
        #expect(first[0].json["reset"] as? Bool == true)
        #expect(Self.jobIDs(first[1]) == ["a"])
        #expect(first[1].id == h.store.sequence)

        // Five batches touching two jobs between two runs: one event, each job once, in its latest state.
        for i in 0 ..< 5 {
            h.post([Self.started("a", "w\(i)", Self.t0 + Double(i)), Self.started("b", "v\(i)", Self.t0 + Double(i))])
        }
        h.stream.run()
        let second = Self.drain(client)
        #expect(second.count == 1)
        #expect(Set(Self.jobIDs(second[0])) == ["a", "b"])
        #expect(Self.jobIDs(second[0]).count == 2)
        #expect(second[0].id == h.store.sequence)
        let jobA = (second[0].json["jobs"] as? [[String: Any]])?.first { $0["job"] as? String == "a" }
        #expect((jobA?["agents"] as? [String: Int])?["running"] == 5)

        // Nothing changed: nothing sent (a heartbeat comment at most).
        h.stream.run()
        #expect(Self.drain(client).isEmpty)
        #expect(h.stream.clientCount == 1)
        client.close()
        #expect(h.stream.clientCount == 0)
    }

    @Test func lastEventIDResumesAndAnIDFromBeforeARestartStartsOver() throws {
        let h = Harness()
        h.post([Self.started("a", "w1", Self.t0)])
        h.post([Self.started("b", "w1", Self.t0)])
        let resumeAt = h.store.sequence
        h.post([Self.started("c", "w1", Self.t0)])

        let resumed = try h.connect(lastEventID: String(resumeAt))
        h.stream.run()
        let events = Self.drain(resumed)
        #expect(events.first?.name == "hello" && events.first?.json["reset"] as? Bool == false)
        #expect(events.first?.id == resumeAt)
        #expect(events.filter { $0.name == "jobs" }.flatMap(Self.jobIDs) == ["c"], "only what changed after the id")

        // An id the store has not reached (the exporter restarted), or garbage: everything, with reset.
        for id in ["999999", "-1", "abc", "1e3", String(repeating: "9", count: 400)] {
            let fresh = try h.connect(lastEventID: id)
            h.stream.run()
            let all = Self.drain(fresh)
            #expect(all.first?.json["reset"] as? Bool == true, "Last-Event-ID \(id)")
            #expect(Set(all.filter { $0.name == "jobs" }.flatMap(Self.jobIDs)) == ["a", "b", "c"])
            fresh.close()
        }
    }

    @Test func agentsOfTheChosenJobArePagedAndEachSentOnce() throws {
        let h = Harness { $0.agentsPerEvent = 2 }
        h.post((0 ..< 5).map { Self.started("j", "w\($0)", Self.t0) } + [Self.started("other", "x", Self.t0)])
        let client = try h.connect(["job": "j"])
        var agents: [String] = []
        var completes: [Bool] = []
        var ids: [UInt64] = []
        for _ in 0 ..< 5 {
            h.stream.run()
            for event in Self.drain(client) where event.name == "agents" {
                agents += ((event.json["agents"] as? [[String: Any]]) ?? []).compactMap { $0["agent"] as? String }
                completes.append(event.json["complete"] as? Bool ?? false)
                ids.append(event.id ?? 0)
            }
        }
        #expect(agents == ["w0", "w1", "w2", "w3", "w4"])
        #expect(completes == [false, false, true])
        #expect(ids.last == h.store.sequence)
        #expect(ids.dropLast().allSatisfy { $0 < h.store.sequence }, "an incomplete page's id does not claim the batch")

        // A later change of one agent sends that agent alone.
        h.post([#"{"type":"agent_progress","job":"j","agent":"w3","progress":0.5,"ts":1800000001}"#])
        h.stream.run()
        let update = Self.drain(client).filter { $0.name == "agents" }
        #expect(update.count == 1)
        #expect(((update.first?.json["agents"] as? [[String: Any]]) ?? []).compactMap { $0["agent"] as? String } == ["w3"])

        // An unknown job: no agents, and the id still moves on.
        let unknown = try h.connect(["job": "<script>nope"])
        h.stream.run()
        let events = Self.drain(unknown)
        #expect(!events.contains { $0.name == "agents" })
        #expect(events.last?.id == h.store.sequence)
    }

    @Test func aSlowClientIsSkippedThenCatchesUpWithTheCurrentStateOrIsDropped() throws {
        let h = Harness { limits in
            limits.softQueueBytes = 2_000
            limits.maxBehindSeconds = 3600
        }
        let slow = try h.connect()
        var maxQueued = 0
        for i in 0 ..< 200 {
            h.post([Self.started("job-\(i % 20)", "w\(i)", Self.t0 + Double(i))])
            h.stream.run()
            maxQueued = max(maxQueued, slow.queuedBytes)
        }
        // Bounded: below the soft limit plus one run's events, however many changes there were.
        #expect(maxQueued < 2_000 + 64 << 10)
        #expect(h.stream.clientCount == 1)
        // Once it reads, the next event holds every job it missed, in its current state.
        _ = Self.drain(slow)
        h.stream.run()
        let caughtUp = Self.drain(slow)
        let jobs = caughtUp.filter { $0.name == "jobs" }
        #expect(jobs.count == 1)
        #expect(Set(jobs.flatMap(Self.jobIDs)).count == 20)
        #expect(jobs.last?.id == h.store.sequence)

        // Behind for longer than allowed: dropped and counted.
        let dropping = Harness { limits in
            limits.softQueueBytes = 100
            limits.maxBehindSeconds = 0
        }
        let client = try dropping.connect()
        dropping.post([Self.started("a", "w", Self.t0)])
        dropping.stream.run()
        #expect(client.queuedBytes > 100)
        dropping.stream.run()
        Thread.sleep(forTimeInterval: 0.01)
        dropping.stream.run()
        #expect(client.isClosed)
        #expect(dropping.stream.clientCount == 0)
        var writer = ExpositionWriter(format: .prometheusText)
        dropping.stream.collect(into: &writer)
        let text = String(decoding: writer.finish(), as: UTF8.self)
        #expect(text.contains("progress_exporter_stream_clients_dropped_total 1"))
        #expect(text.contains("progress_exporter_stream_clients 0"))
    }

    @Test func endedJobsStayUntilRetentionThenComeAsRemoved() throws {
        let h = Harness()
        h.post([Self.started("done", "w", Self.t0), #"{"type":"job_completed","job":"done","ts":1800000001}"#, Self.started("other", "w", Self.t0)])
        let client = try h.connect()
        h.stream.run()
        let first = Self.drain(client).filter { $0.name == "jobs" }
        #expect(Set(first.flatMap(Self.jobIDs)) == ["done", "other"])
        let done = (first.first?.json["jobs"] as? [[String: Any]])?.first { $0["job"] as? String == "done" }
        #expect(done?["status"] as? String == "completed")
        // Within retention (1 h by default) the ended job stays; past it, a `removed` tells the page.
        h.clock.advance(1800)
        h.store.tick()
        h.stream.run()
        #expect(!Self.drain(client).contains { ($0.json["removed"] as? [String])?.isEmpty == false })
        h.clock.advance(1802)
        h.store.tick()
        h.stream.run()
        let removed = Self.drain(client).filter { $0.name == "jobs" }
        #expect(removed.count == 1)
        #expect(removed.first?.json["removed"] as? [String] == ["done"])
        #expect(removed.first?.id == h.store.sequence)
    }

    @Test func tooManyClientsGet503() throws {
        let h = Harness { $0.maxClients = 2 }
        _ = try h.connect()
        _ = try h.connect()
        let refused = h.stream.handle(HTTPRequest(method: "GET", path: "/api/v1/stream"))
        #expect(refused.status == 503)
    }

    @Test func theStreamsJSONEqualsTheAPIsForHostileStringsAndEveryField() throws {
        let hostile = "a\"b\\c\n\r\t\u{0}\u{1f}</script><img src=x>\u{2028}é😀/"
        let h = Harness()
        let escaped = #""j\"<x>""#
        h.post([
            #"{"type":"job_started","job":\#(escaped),"total_items":10,"ts":1799999990}"#,
            #"{"type":"agent_started","job":\#(escaped),"agent":\#(escaped),"item":"\u007fx","ts":1799999991}"#,
            #"{"type":"agent_progress","job":\#(escaped),"agent":\#(escaped),"progress":0.5,"ts":1799999992.5}"#,
            #"{"type":"item_completed","job":\#(escaped),"agent":"other","item":"i","ts":1799999993}"#,
            #"{"type":"item_failed","job":\#(escaped),"agent":"other","item":"j","retryable":true,"ts":1799999994}"#,
        ])
        h.clock.advance(3.25)
        var job = try #require(h.store.jobSummaries().first)
        let agentID = job.job
        // Strings the decoder would refuse as ids (control characters) still must come out right.
        job.job = hostile
        job.deadline = 1_800_000_100
        job.throughputByWindow["tiny"] = 1e-7
        var agent = try #require(h.store.agentSummaries(job: agentID)?.first { $0.agent == agentID })
        agent.agent = hostile
        agent.step = "\u{1}step"
        func object(_ bytes: some Sequence<UInt8>) throws -> NSDictionary {
            try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? NSDictionary)
        }
        var jobBytes: [UInt8] = []
        StreamJSON.job(job, into: &jobBytes)
        #expect(try object(jobBytes) == object(JSONEncoder().encode(job)))
        var agentBytes: [UInt8] = []
        StreamJSON.agent(agent, into: &agentBytes)
        #expect(try object(agentBytes) == object(JSONEncoder().encode(agent)))
        #expect(!jobBytes.contains(0x0A) && !agentBytes.contains(0x0A), "no raw newline can end an event's data line")
        var odd = job
        odd.throughput = .nan
        odd.etaSeconds = .infinity
        var oddBytes: [UInt8] = []
        StreamJSON.job(odd, into: &oddBytes)
        let parsed = try object(oddBytes)
        #expect(parsed["throughput"] is NSNull && parsed["eta_seconds"] is NSNull)
    }
}
