import Alerting
import Clocks
import Dispatch
import Exposition
import Foundation
import MicroHTTP
import Synchronization
import Tracking

/// GET /api/v1/stream: Server-Sent Events from the change feed, for the live page.
///
/// One loop serves every client: it runs when events were applied (at most every 100 ms) and
/// otherwise four times a second, and per run sends each client at most one `jobs`, one `agents`
/// and one `alerts` event, holding what changed since that client's own cursor. Changes between
/// runs are thereby coalesced, and a client that is behind is simply sent less often: its cursor
/// stays where it was, and the next event it gets holds the current state of everything that
/// changed since. Clients at the same cursor share one read and one encoding.
///
/// Every event carries `id:`, the store's sequence number up to which the client has everything;
/// a reconnecting EventSource sends it back as `Last-Event-ID` and the stream goes on from there.
/// An id past the store's sequence (the exporter restarted) starts over with `"reset": true`.
final class LiveStream: Sendable {
    struct Limits: Sendable {
        /// A client with more unsent bytes than this gets nothing new until it has read them.
        var softQueueBytes = 256 << 10
        /// Unsent bytes past which the stream is closed (a single event never comes near it).
        var maxQueueBytes = 4 << 20
        /// A client behind (past `softQueueBytes`) this long is dropped.
        var maxBehindSeconds = 30.0
        /// A comment line this often keeps proxies from closing a quiet stream.
        var heartbeatSeconds = 15.0
        /// The reconnection delay suggested to EventSource (`retry:`).
        var retryMilliseconds = 2000
        /// Bytes of records per event (at least one record); more follow in the next runs.
        var eventBytes = 192 << 10
        var jobsPerEvent = 500
        var agentsPerEvent = 2000
        var alertsPerEvent = 1000
        /// Running jobs are re-sent this often: their rates and ETC move with the clock.
        var refreshSeconds = 5.0
        /// Clients at once; more get 503.
        var maxClients = 1000
        /// Runs at most this often.
        var minimumGap = 0.1
        var idleInterval = 0.25
    }

    private struct Client {
        let stream: HTTPStream
        var jobs: FeedCursor
        let agentJob: String?
        var agents: FeedCursor
        var alertsVersion: UInt64?
        var lastWrite: Double
        var lastRefresh: Double
        var behindSince: Double?
        var hello: String?
    }

    private struct State {
        var clients: [UInt64: Client] = [:]
        var nextID: UInt64 = 0
        var dropped: UInt64 = 0
        var started = false
    }

    let limits: Limits
    private let store: ProgressStore
    private let alerts: AlertEngine?
    private let state = Mutex(State())
    /// Tells a reconnecting page whether it reached the same process.
    let instance: String
    private let loopHolder = Mutex<UpkeepLoop?>(nil)
    /// When the loop last looked for clients that hung up (monotonic seconds).
    private let lastHangUpCheck = Mutex<Double>(0)

    init(store: ProgressStore, alerts: AlertEngine?, limits: Limits = Limits(), clock: any TimeSource = WallClock()) {
        self.store = store
        self.alerts = alerts
        self.limits = limits
        instance = String(UInt64(max(0, clock.now()) * 1000), radix: 36) + "-" + String(UInt32.random(in: 0 ... .max), radix: 36)
    }

    // MARK: - Service

    func start() {
        let loop = UpkeepLoop(interval: limits.idleInterval, minimumGap: limits.minimumGap, name: "stream") { [self] in run() }
        loopHolder.withLock { $0 = loop }
        loop.start()
    }

    /// Closes every stream and stops the loop.
    func stop() {
        let loop = loopHolder.withLock { loop -> UpkeepLoop? in defer { loop = nil }; return loop }
        loop?.stop()
        let streams = state.withLock { state in state.clients.values.map(\.stream) }
        streams.forEach { $0.close() }
    }

    /// Events were applied: send them soon (the loop never runs more than 10 times a second).
    func eventsApplied() {
        guard state.withLock({ !$0.clients.isEmpty }) else { return }
        loopHolder.withLock { $0 }?.wake()
    }

    var clientCount: Int { state.withLock { $0.clients.count } }

    // MARK: - HTTP

    func handle(_ request: HTTPRequest) -> HTTPResponse {
        let sequence = store.sequence
        // Last-Event-ID as EventSource sends it; `?last_event_id=` for clients that cannot set headers.
        let asked = (request.header("Last-Event-ID") ?? request.query["last_event_id"]).flatMap { UInt64($0.trimmingCharacters(in: .whitespaces)) }
        let resume = asked.flatMap { $0 <= sequence ? $0 : nil }
        let since = resume ?? 0
        let job = request.query["job"].flatMap { $0.isEmpty ? nil : $0 }
        struct Hello: Encodable {
            let instance: String
            let sequence: UInt64
            let reset: Bool
            let job: String?
        }
        let helloJSON = (try? JSONEncoder.api.encode(Hello(instance: instance, sequence: since, reset: resume == nil, job: job)))
            .map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        let stream = HTTPStream(maxBufferedBytes: limits.maxQueueBytes)
        let now = Self.monotonic()
        let added = state.withLock { state -> UInt64? in
            guard state.clients.count < limits.maxClients else { return nil }
            state.nextID += 1
            state.clients[state.nextID] = Client(
                stream: stream, jobs: FeedCursor(since: since), agentJob: job, agents: FeedCursor(since: since),
                alertsVersion: nil, lastWrite: now, lastRefresh: now, behindSince: nil,
                hello: "retry: \(limits.retryMilliseconds)\nid: \(since)\nevent: hello\ndata: \(helloJSON)\n\n")
            return state.nextID
        }
        guard let id = added else {
            return HTTPResponse.text("too many stream clients (\(limits.maxClients)); try again later\n", status: 503)
                .adding(header: "Retry-After", "5")
        }
        stream.onClose { [self] in _ = state.withLock { $0.clients.removeValue(forKey: id) } }
        loopHolder.withLock { $0 }?.wake()
        return HTTPResponse.stream(stream, contentType: "text/event-stream; charset=utf-8")
            .adding(header: "Cache-Control", "no-cache")
            .adding(header: "X-Accel-Buffering", "no")
    }

    // MARK: - The loop

    private struct Encoded {
        var data: [UInt8]
        var next: FeedCursor
    }

    /// One run: reads what changed once per distinct cursor and writes it to each client.
    func run() {
        let now = Self.monotonic()
        // Clients that left while their stream waited: counted out within a second, not at the next write.
        if now - lastHangUpCheck.withLock({ $0 }) >= 1 {
            lastHangUpCheck.withLock { $0 = now }
            let open = state.withLock { $0.clients.values.map(\.stream) }
            HTTPStream.closeThoseWhoseClientLeft(open)
        }
        let clients = state.withLock { $0.clients }
        guard !clients.isEmpty else { return }
        var jobReads: [FeedCursor: Encoded] = [:]
        var agentReads: [String: [FeedCursor: Encoded?]] = [:]
        var refresh: [UInt8]?
        let alertsVersion = alerts?.activeVersion
        var alertsEvent: [UInt8]?
        var updated: [UInt64: Client] = [:]
        var droppedNow: UInt64 = 0

        for (id, var client) in clients {
            if client.stream.isClosed { continue }
            var out: [UInt8] = []
            if let hello = client.hello {
                out += Array(hello.utf8)
                client.hello = nil
            }
            let queued = client.stream.queuedBytes
            if queued > limits.softQueueBytes {
                // Behind: send nothing new (its cursor stays, so it catches up later), drop it if it stays behind.
                let since = client.behindSince ?? now
                client.behindSince = since
                if now - since > limits.maxBehindSeconds {
                    client.stream.close()
                    droppedNow += 1
                    continue
                }
                updated[id] = client
                continue
            }
            client.behindSince = nil

            var events: [(name: String, data: [UInt8])] = []
            // Jobs changed since this client's cursor.
            let jobs = jobReads[client.jobs] ?? encodeJobs(after: client.jobs)
            jobReads[client.jobs] = jobs
            client.jobs = jobs.next
            if !jobs.data.isEmpty {
                events.append(("jobs", jobs.data))
                client.lastRefresh = now
            } else if now - client.lastRefresh >= limits.refreshSeconds {
                if refresh == nil { refresh = encodeRefresh() }
                if let refresh, !refresh.isEmpty { events.append(("jobs", refresh)) }
                client.lastRefresh = now
            }

            // Agents of the job the client watches (none while the job is unknown).
            if let job = client.agentJob {
                let read: Encoded?
                if let cached = agentReads[job]?[client.agents] {
                    read = cached
                } else {
                    read = encodeAgents(job: job, after: client.agents)
                    agentReads[job, default: [:]][client.agents] = read
                }
                client.agents = read?.next ?? client.jobs
                if let read, !read.data.isEmpty { events.append(("agents", read.data)) }
            }

            // Alerts, whole, when they changed.
            if let alertsVersion, client.alertsVersion != alertsVersion, let engine = alerts {
                if alertsEvent == nil { alertsEvent = APIEndpoints.alertsJSON(engine.activeAlerts(), limit: limits.alertsPerEvent) ?? [] }
                if let alertsEvent, !alertsEvent.isEmpty { events.append(("alerts", alertsEvent)) }
                client.alertsVersion = alertsVersion
            }
            // Each event's id: what the client has in full once it got this run's events.
            let eventID = Self.eventID(client)
            for (name, data) in events { out += event(name, id: eventID, data) }

            if out.isEmpty, now - client.lastWrite >= limits.heartbeatSeconds {
                out = Array(": keepalive\n\n".utf8)
            }
            if !out.isEmpty {
                let before = client.stream.queuedBytes
                if !client.stream.write(out) {
                    if before + out.count > client.stream.maxBufferedBytes { droppedNow += 1 }
                    continue
                }
                client.lastWrite = now
            }
            updated[id] = client
        }
        state.withLock { state in
            state.dropped += droppedNow
            for (id, client) in updated where state.clients[id] != nil { state.clients[id] = client }
        }
    }

    /// The id a client resumes from: everything up to it has been sent to it.
    private static func eventID(_ client: Client) -> UInt64 {
        client.agentJob == nil ? client.jobs.complete : min(client.jobs.complete, client.agents.complete)
    }

    private func event(_ name: String, id: UInt64, _ data: [UInt8]) -> [UInt8] {
        Array("id: \(id)\nevent: \(name)\ndata: ".utf8) + data + Array("\n\n".utf8)
    }

    /// `{"sequence":N,"jobs":[...],"removed":[...]}`, cut at `eventBytes`.
    private func encodeJobs(after cursor: FeedCursor) -> Encoded {
        let page = store.jobChanges(after: cursor, limit: limits.jobsPerEvent)
        let (items, next) = encodeEntries(page.entries, next: page.next, StreamJSON.job)
        if items.isEmpty && page.removed.isEmpty { return Encoded(data: [], next: next) }
        let removed = (try? JSONEncoder.api.encode(page.removed)).map(Array.init) ?? Array("[]".utf8)
        let data = Array(#"{"sequence":\#(next.complete),"jobs":["#.utf8) + items + Array(#"],"removed":"#.utf8) + removed + [UInt8(ascii: "}")]
        return Encoded(data: data, next: next)
    }

    /// `{"job":...,"sequence":N,"agents":[...],"complete":bool}`; nil for an unknown job.
    private func encodeAgents(job: String, after cursor: FeedCursor) -> Encoded? {
        guard let page = store.agentChanges(job: job, after: cursor, limit: limits.agentsPerEvent) else { return nil }
        let (items, next) = encodeEntries(page.entries, next: page.next, StreamJSON.agent)
        if items.isEmpty { return Encoded(data: [], next: next) }
        var writer = StreamJSON.Writer(out: [])
        writer.string(job)
        let name = writer.out
        let data = Array(#"{"job":"#.utf8) + name + Array(#","sequence":\#(next.complete),"complete":\#(next.id == nil),"agents":["#.utf8) + items + Array("]}".utf8)
        return Encoded(data: data, next: next)
    }

    /// Running jobs, for their clock-driven values.
    private func encodeRefresh() -> [UInt8] {
        let jobs = store.runningJobSummaries(limit: limits.jobsPerEvent)
        guard !jobs.isEmpty else { return [] }
        var items: [UInt8] = []
        for job in jobs where items.count < limits.eventBytes {
            if !items.isEmpty { items.append(UInt8(ascii: ",")) }
            StreamJSON.job(job, into: &items)
        }
        return Array(#"{"sequence":null,"jobs":["#.utf8) + items + Array(#"],"removed":[]}"#.utf8)
    }

    /// Comma-separated JSON of the entries up to `eventBytes` (at least one), and where to go on from.
    private func encodeEntries<Item>(
        _ entries: [(after: FeedCursor, item: Item)], next: FeedCursor, _ encode: (Item, inout [UInt8]) -> Void
    ) -> ([UInt8], FeedCursor) {
        var items: [UInt8] = []
        items.reserveCapacity(min(limits.eventBytes, entries.count * 400))
        for (index, entry) in entries.enumerated() {
            if !items.isEmpty && items.count >= limits.eventBytes { return (items, entries[index - 1].after) }
            if !items.isEmpty { items.append(UInt8(ascii: ",")) }
            encode(entry.item, &items)
        }
        return (items, next)
    }

    static func monotonic() -> Double { MonotonicClock().now() }
}

extension LiveStream: SelfMetricsCollector {
    static let clientsFamily = MetricFamily(
        "progress_exporter_stream_clients", .gauge, help: "Clients connected to /api/v1/stream.")
    static let droppedFamily = MetricFamily(
        "progress_exporter_stream_clients_dropped_total", .counter,
        help: "Stream clients closed for reading too slowly (behind for 30 s, or past the per-client queue limit).")

    func collect(into w: inout ExpositionWriter) {
        let (clients, dropped) = state.withLock { ($0.clients.count, $0.dropped) }
        w.family(Self.clientsFamily)
        w.sample(Self.clientsFamily, .empty, .empty, Double(clients))
        w.family(Self.droppedFamily)
        w.sample(Self.droppedFamily, .empty, .empty, Double(dropped))
    }
}
