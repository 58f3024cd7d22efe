import CNats
import Clocks
import Glibc
import Synchronization

/// `--events.nats-url`: reads events from a NATS JetStream stream through a durable pull consumer
/// (created when missing). Each message's payload is native NDJSON (one or more events).
///
/// At-least-once without double counts: the handler applies a message and says when it may be
/// acknowledged (at once, when it is durable in the journal; or once a snapshot holds its batch).
/// A message not acknowledged in time is delivered again by the server; the handler recognises it by
/// its stream sequence, which the exporter keeps with the state. All NATS calls happen on the
/// source's own thread; a lost connection is retried with backoff.
public final class NATSSource: Sendable {
    public struct Settings: Sendable {
        public var urls: [String]
        public var stream: String
        /// The consumer's filter subject, e.g. `progress.0.>` for shard 0 of a partitioned stream.
        public var subject: String
        /// The durable pull consumer's name.
        public var consumer: String
        public var token: String?
        /// A `.creds` file (JWT and NKey seed) as NATS accounts issue them.
        public var credentialsFile: String?
        /// TLS: the CA that signed the server's certificate; a client certificate and key for mutual TLS.
        public var caFile: String?
        public var certificateFile: String?
        public var keyFile: String?
        /// How long the server waits for an acknowledgement before delivering a message again; set on
        /// a consumer this source creates (an existing consumer keeps its own).
        public var ackWait: Duration = .seconds(30)
        /// Unacknowledged messages the server lets this consumer have at once.
        public var maxAckPending: Int = 50_000
        public var batchSize: Int = 256
        public var fetchTimeout: Duration = .seconds(1)

        public init(urls: [String], stream: String, subject: String, consumer: String) {
            self.urls = urls
            self.stream = stream
            self.subject = subject
            self.consumer = consumer
        }
    }

    /// One message as the handler sees it.
    public struct Delivery: Sendable {
        public var payload: [UInt8]
        public var streamSequence: UInt64
        /// 1 on the first delivery, more on a redelivery.
        public var deliveries: UInt64
    }

    /// When a handled message may be acknowledged.
    public enum Acknowledgement: Sendable {
        /// Now: what it changed is durable (or nothing is kept across restarts anyway).
        case now
        /// Once `durableThrough()` reaches this store sequence number (a snapshot holds the batch).
        case afterSnapshot(sequence: UInt64)
        /// It could not be applied now (the journal failed): hand it again after a pause, before any later one.
        case retry
    }

    public struct Stats: Sendable, Equatable {
        public var connected = false
        public var messages: UInt64 = 0
        public var redeliveries: UInt64 = 0
        public var acks: UInt64 = 0
        public var ackFailures: UInt64 = 0
        /// Messages in the stream the consumer has not been handed yet (the lag).
        public var pending: UInt64 = 0
        /// Messages handled and waiting for a snapshot before their acknowledgement.
        public var awaitingSnapshot: Int = 0
        public var connectionFailures: UInt64 = 0
        public var lastError: String?
    }

    public let settings: Settings
    private let handler: @Sendable (Delivery) -> Acknowledgement
    private let durableThrough: @Sendable () -> UInt64
    private let onConnection: @Sendable (String?) -> Void
    private let lifecycle = SourceLifecycle()
    private let session: NATSSession

    /// - Parameters:
    ///   - handler: applies one message; runs on the source's thread, one message at a time, in order.
    ///   - durableThrough: the store sequence the newest written snapshot holds.
    ///   - onConnection: nil when the consumer is bound and reading, else why not (for readiness and logs).
    public init(
        settings: Settings, handler: @escaping @Sendable (Delivery) -> Acknowledgement,
        durableThrough: @escaping @Sendable () -> UInt64 = { 0 },
        onConnection: @escaping @Sendable (String?) -> Void = { _ in }
    ) {
        self.settings = settings
        self.handler = handler
        self.durableThrough = durableThrough
        self.onConnection = onConnection
        session = NATSSession(settings: settings, handler: handler, durableThrough: durableThrough, stop: lifecycle.stop)
    }

    deinit {
        lifecycle.stopAndJoin()
    }

    public var stats: Stats { session.stats.withLock { $0 } }

    public func start() {
        let session = session
        let onConnection = onConnection
        let stop = lifecycle.stop
        lifecycle.start {
            var backoff = 0.5
            while !stop.isFired {
                let problem = session.run { onConnection(nil) }
                guard !stop.isFired else { break }
                onConnection(problem)
                session.stats.withLock {
                    $0.connected = false
                    $0.connectionFailures += 1
                    $0.lastError = problem
                }
                if stop.sleep(for: .milliseconds(Int(backoff * 1000))) { break }
                backoff = min(backoff * 2, 30)
            }
        }
    }

    /// Stops reading; messages handled but not yet acknowledged are delivered again after a restart
    /// (and recognised then).
    public func stop() {
        lifecycle.stopAndJoin()
    }
}

/// One connection's life on the source's thread: connect, bind the consumer, fetch and acknowledge
/// until the connection fails or the source stops.
private final class NATSSession: Sendable {
    let settings: NATSSource.Settings
    let handler: @Sendable (NATSSource.Delivery) -> NATSSource.Acknowledgement
    let durableThrough: @Sendable () -> UInt64
    let stats = Mutex(NATSSource.Stats())
    let stop: StopSignal

    init(settings: NATSSource.Settings, handler: @escaping @Sendable (NATSSource.Delivery) -> NATSSource.Acknowledgement,
         durableThrough: @escaping @Sendable () -> UInt64, stop: StopSignal) {
        self.settings = settings
        self.handler = handler
        self.durableThrough = durableThrough
        self.stop = stop
    }

    /// Returns why the session ended (nil only when stopped).
    func run(bound: () -> Void) -> String? {
        var options: OpaquePointer?
        var connection: OpaquePointer?
        var jetStream: OpaquePointer?
        var subscription: OpaquePointer?
        var awaiting: [(message: OpaquePointer, sequence: UInt64)] = []
        defer {
            for held in awaiting { natsMsg_Destroy(held.message) }
            stats.withLock { $0.awaitingSnapshot = 0 }
            if let subscription { natsSubscription_Destroy(subscription) }
            if let jetStream { jsCtx_Destroy(jetStream) }
            if let connection { natsConnection_Destroy(connection) }
            if let options { natsOptions_Destroy(options) }
        }
        if let problem = makeOptions(&options) { return problem }
        if let problem = check(natsConnection_Connect(&connection, options), "connect to \(settings.urls.joined(separator: ","))") { return problem }
        if let problem = check(natsConnection_JetStream(&jetStream, connection, nil), "open JetStream") { return problem }
        if let problem = bindConsumer(jetStream, &subscription) { return problem }
        stats.withLock {
            $0.connected = true
            $0.lastError = nil
        }
        bound()

        var lastInfo = MonotonicClock.instant - .seconds(60)
        while !stop.isFired {
            awaiting = acknowledgeDurable(awaiting)
            if MonotonicClock.instant - lastInfo >= .seconds(5) {
                refreshPending(subscription)
                lastInfo = .now
            }
            var list = natsMsgList()
            var jsError = jsErrCode(rawValue: 0)
            let timeout = Int64(settings.fetchTimeout.components.seconds * 1000 + settings.fetchTimeout.components.attoseconds / 1_000_000_000_000_000)
            let status = natsSubscription_Fetch(&list, subscription, Int32(settings.batchSize), timeout, &jsError)
            if status == NATS_TIMEOUT { continue }
            guard status == NATS_OK else {
                if natsConnection_IsClosed(connection) { return "connection closed: \(text(status))" }
                // Disconnected for now: the library reconnects; wait a little before asking again.
                if stop.sleep(for: .milliseconds(500)) { return nil }
                continue
            }
            defer { natsMsgList_Destroy(&list) }
            for index in 0..<Int(list.Count) {
                guard let message = list.Msgs[index] else { continue }
                // Taken out of the list: the list's destroy must not free what is kept for later.
                list.Msgs[index] = nil
                guard let delivery = Self.delivery(of: message) else {
                    natsMsg_Destroy(message)
                    continue
                }
                stats.withLock {
                    $0.messages += 1
                    if delivery.deliveries > 1 { $0.redeliveries += 1 }
                }
                var decision = handler(delivery)
                while case .retry = decision, !stop.isFired {
                    if stop.sleep(for: .seconds(1)) { break }
                    decision = handler(delivery)
                }
                switch decision {
                case .now:
                    acknowledge(message)
                case .afterSnapshot(let sequence):
                    awaiting.append((message, sequence))
                case .retry:
                    // Stopped while the message could not be applied: it is delivered again later.
                    natsMsg_Destroy(message)
                    for rest in (index + 1)..<max(index + 1, Int(list.Count)) {
                        if let other = list.Msgs[rest] { natsMsg_Destroy(other); list.Msgs[rest] = nil }
                    }
                    return nil
                }
            }
            stats.withLock { $0.awaitingSnapshot = awaiting.count }
        }
        return nil
    }

    private func makeOptions(_ options: inout OpaquePointer?) -> String? {
        if let problem = check(natsOptions_Create(&options), "create options") { return problem }
        var servers = settings.urls.map { strdup($0) }
        defer { servers.forEach { free($0) } }
        let status = servers.withUnsafeMutableBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: buffer.count) {
                natsOptions_SetServers(options, $0, Int32(buffer.count))
            }
        }
        if let problem = check(status, "use the URLs \(settings.urls.joined(separator: ","))") { return problem }
        if let problem = check(natsOptions_SetName(options, "progress-exporter"), "set the name") { return problem }
        if let problem = check(natsOptions_SetMaxReconnect(options, -1), "set reconnects") { return problem }
        if let problem = check(natsOptions_SetReconnectWait(options, 1000), "set the reconnect wait") { return problem }
        if let token = settings.token, let problem = check(natsOptions_SetToken(options, token), "set the token") { return problem }
        if let file = settings.credentialsFile, let problem = check(natsOptions_SetUserCredentialsFromFiles(options, file, nil), "read the credentials file \(file)") { return problem }
        if let file = settings.caFile {
            if let problem = check(natsOptions_SetSecure(options, true), "enable TLS") { return problem }
            if let problem = check(natsOptions_LoadCATrustedCertificates(options, file), "read the CA file \(file)") { return problem }
        }
        if let certificate = settings.certificateFile, let key = settings.keyFile {
            if let problem = check(natsOptions_SetSecure(options, true), "enable TLS") { return problem }
            if let problem = check(natsOptions_LoadCertificatesChain(options, certificate, key), "read the client certificate \(certificate)") { return problem }
        }
        return nil
    }

    /// Binds to the durable consumer, creating it (explicit acks, the filter subject) when missing.
    private func bindConsumer(_ jetStream: OpaquePointer?, _ subscription: inout OpaquePointer?) -> String? {
        var info: UnsafeMutablePointer<jsConsumerInfo>?
        var jsError = jsErrCode(rawValue: 0)
        let found = js_GetConsumerInfo(&info, jetStream, settings.stream, settings.consumer, nil, &jsError)
        if found == NATS_OK {
            if let info, let filter = info.pointee.Config?.pointee.FilterSubject, String(cString: filter) != settings.subject {
                jsConsumerInfo_Destroy(info)
                return "consumer \(settings.consumer) of stream \(settings.stream) filters \(String(cString: filter)), not \(settings.subject): delete it or name another consumer"
            }
            if let info { jsConsumerInfo_Destroy(info) }
        } else if found == NATS_NOT_FOUND {
            var config = jsConsumerConfig()
            jsConsumerConfig_Init(&config)
            let durable = strdup(settings.consumer), filter = strdup(settings.subject)
            defer { free(durable); free(filter) }
            config.Durable = UnsafePointer(durable)
            config.FilterSubject = UnsafePointer(filter)
            config.AckPolicy = js_AckExplicit
            config.DeliverPolicy = js_DeliverAll
            config.AckWait = settings.ackWait.components.seconds * 1_000_000_000
            config.MaxAckPending = Int64(settings.maxAckPending)
            var created: UnsafeMutablePointer<jsConsumerInfo>?
            if let problem = check(js_AddConsumer(&created, jetStream, settings.stream, &config, nil, &jsError), "create consumer \(settings.consumer) on stream \(settings.stream)", jsError) {
                return problem
            }
            if let created { jsConsumerInfo_Destroy(created) }
        } else {
            return failure(found, "look up consumer \(settings.consumer) on stream \(settings.stream)", jsError)
        }
        var options = jsSubOptions()
        jsSubOptions_Init(&options)
        let stream = strdup(settings.stream), consumer = strdup(settings.consumer)
        defer { free(stream); free(consumer) }
        options.Stream = UnsafePointer(stream)
        options.Consumer = UnsafePointer(consumer)
        return check(js_PullSubscribe(&subscription, jetStream, settings.subject, settings.consumer, nil, &options, &jsError), "bind consumer \(settings.consumer)", jsError)
    }

    /// Acknowledges the held messages a written snapshot now holds; returns the others.
    private func acknowledgeDurable(_ awaiting: [(message: OpaquePointer, sequence: UInt64)]) -> [(message: OpaquePointer, sequence: UInt64)] {
        guard !awaiting.isEmpty else { return awaiting }
        let durable = durableThrough()
        var rest: [(message: OpaquePointer, sequence: UInt64)] = []
        for held in awaiting {
            if held.sequence <= durable { acknowledge(held.message) } else { rest.append(held) }
        }
        stats.withLock { $0.awaitingSnapshot = rest.count }
        return rest
    }

    private func acknowledge(_ message: OpaquePointer) {
        let status = natsMsg_Ack(message, nil)
        natsMsg_Destroy(message)
        stats.withLock { if status == NATS_OK { $0.acks += 1 } else { $0.ackFailures += 1 } }
    }

    private func refreshPending(_ subscription: OpaquePointer?) {
        var info: UnsafeMutablePointer<jsConsumerInfo>?
        guard natsSubscription_GetConsumerInfo(&info, subscription, nil, nil) == NATS_OK, let info else { return }
        let pending = info.pointee.NumPending
        jsConsumerInfo_Destroy(info)
        stats.withLock { $0.pending = pending }
    }

    private static func delivery(of message: OpaquePointer) -> NATSSource.Delivery? {
        var meta: UnsafeMutablePointer<jsMsgMetaData>?
        guard natsMsg_GetMetaData(&meta, message) == NATS_OK, let meta else { return nil }
        defer { jsMsgMetaData_Destroy(meta) }
        let length = Int(natsMsg_GetDataLength(message))
        var payload: [UInt8] = []
        if length > 0, let data = natsMsg_GetData(message) {
            payload = Array(UnsafeRawBufferPointer(start: data, count: length))
        }
        return NATSSource.Delivery(payload: payload, streamSequence: meta.pointee.Sequence.Stream, deliveries: meta.pointee.NumDelivered)
    }

    private func check(_ status: natsStatus, _ what: String, _ jsError: jsErrCode = jsErrCode(rawValue: 0)) -> String? {
        status == NATS_OK ? nil : failure(status, what, jsError)
    }

    private func failure(_ status: natsStatus, _ what: String, _ jsError: jsErrCode) -> String {
        var detail = text(status)
        var lastStatus = NATS_OK
        if let last = nats_GetLastError(&lastStatus) {
            let message = String(cString: last)
            if !message.isEmpty, message != detail { detail += ": " + message }
        }
        if jsError.rawValue != 0 { detail += " (JetStream error \(jsError.rawValue))" }
        return "cannot \(what): \(detail)"
    }

    private func text(_ status: natsStatus) -> String {
        natsStatus_GetText(status).map { String(cString: $0) } ?? "status \(status.rawValue)"
    }
}
