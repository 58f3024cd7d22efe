import EventSources
import Events
import Exposition
import Synchronization
import Tracking

/// `--events.nats-url`: JetStream messages applied through the one writer. A message's identity
/// (`nats:<stream>/<consumer>#<stream sequence>`) is the batch's idempotency key, kept with the state
/// in the de-duplication window (`--events.dedup-window`): a message delivered again (its
/// acknowledgement was lost, or it was handed to an exporter that died after applying it) is
/// recognised and acknowledged, not counted twice. The stream sequence is also kept as the
/// consumer's position in the state (for people: how far it got).
///
/// When a message is acknowledged depends on what makes it durable:
/// - with `--storage.journal`: the payload is written to the journal (with its identity) before it
///   is applied, and acknowledged at once;
/// - with `--storage.path` alone: acknowledged once a snapshot holding its batch is written (so the
///   consumer's ack wait must be longer than the snapshot interval);
/// - with neither: acknowledged once applied (the state does not outlive the process anyway).
final class NATSIngest: Sendable, SelfMetricsCollector {
    let source: NATSSource

    /// The batch key of a message: replayed journal records carry the same position, so the same key.
    static func messageID(_ position: SourcePosition) -> String { "\(position.path)#\(position.offset)" }

    init(settings: NATSSource.Settings, ingestor: Ingestor, journal: Journal?, snapshots: Snapshotter?, readiness: Readiness) {
        let name = "nats:\(settings.stream)/\(settings.consumer)"
        let progress = Progress()
        let handler: @Sendable (NATSSource.Delivery) -> NATSSource.Acknowledgement = { delivery in
            let position = SourcePosition.sequence(source: "nats", name: name, through: delivery.streamSequence)
            let id = Self.messageID(position)
            let batch = ingestor.decodeNative(delivery.payload)
            let outcome: Ingestor.Outcome?
            if let journal {
                do {
                    let arrived = ingestor.now()
                    outcome = try journal.commit(source: "nats", body: delivery.payload, arrived: arrived, position: position) { journalPosition in
                        ingestor.applyOnce(batch, id: id, source: "nats", positions: [journalPosition, position], arrivedAt: arrived)
                    }
                } catch {
                    Log.error("NATS message not applied: the journal failed; trying again", ["stream_sequence": "\(delivery.streamSequence)", "err": "\(error)"])
                    return .retry
                }
            } else {
                outcome = ingestor.applyOnce(batch, id: id, source: "nats", positions: [position])
            }
            progress.tally.withLock { outcome == nil ? ($0.duplicates += 1) : ($0.applied += 1) }
            guard journal == nil, snapshots != nil else { return .now }
            // A duplicate was applied by an earlier batch: the current sequence is at or past it.
            return .afterSnapshot(sequence: outcome?.sequence ?? ingestor.store.sequence)
        }
        let readinessName = "events.nats"
        readiness.set(readinessName, problem: "connecting to NATS")
        source = NATSSource(
            settings: settings, handler: handler,
            durableThrough: { snapshots?.lastWrittenSequence ?? 0 },
            onConnection: { problem in
                readiness.set(readinessName, problem: problem)
                if let problem {
                    Log.warn("NATS source not reading; retrying with backoff", ["stream": settings.stream, "consumer": settings.consumer, "problem": problem])
                } else {
                    Log.info("NATS source reading", ["stream": settings.stream, "consumer": settings.consumer, "subject": settings.subject])
                }
            })
        self.progress = progress
    }

    /// What became of this consumer's messages.
    private final class Progress: Sendable {
        let tally = Mutex<(applied: UInt64, duplicates: UInt64)>((0, 0))
    }

    private let progress: Progress

    static let messages = MetricFamily("progress_exporter_nats_messages_total", .counter, help: "JetStream messages handled, by result: applied, or duplicate (delivered again after being applied; acknowledged, not counted again).")
    static let redeliveries = MetricFamily("progress_exporter_nats_redeliveries_total", .counter, help: "JetStream messages delivered more than once.")
    static let acks = MetricFamily("progress_exporter_nats_acks_total", .counter, help: "JetStream messages acknowledged.")
    static let ackFailures = MetricFamily("progress_exporter_nats_ack_failures_total", .counter, help: "Acknowledgements that could not be sent (the message is delivered again and recognised).")
    static let pending = MetricFamily("progress_exporter_nats_pending_messages", .gauge, help: "Messages in the stream this consumer has not been handed yet (its lag), as of the last check (every 5 s).")
    static let awaiting = MetricFamily("progress_exporter_nats_awaiting_snapshot_messages", .gauge, help: "Messages applied and waiting for a snapshot to hold them before they are acknowledged (without --storage.journal).")
    static let connected = MetricFamily("progress_exporter_nats_connected", .gauge, help: "1 while the consumer is bound and reading, 0 otherwise.")
    static let failures = MetricFamily("progress_exporter_nats_connection_failures_total", .counter, help: "Sessions that failed (connect, consumer, or a closed connection); retried with backoff up to 30 s.")

    func collect(into w: inout ExpositionWriter) {
        let stats = source.stats
        let tally = progress.tally.withLock { $0 }
        w.family(Self.messages)
        w.sample(Self.messages, LabelSet([("result", "applied")]), .empty, Double(tally.applied))
        w.sample(Self.messages, LabelSet([("result", "duplicate")]), .empty, Double(tally.duplicates))
        for (family, value) in [(Self.redeliveries, Double(stats.redeliveries)), (Self.acks, Double(stats.acks)), (Self.ackFailures, Double(stats.ackFailures)),
                                (Self.pending, Double(stats.pending)), (Self.awaiting, Double(stats.awaitingSnapshot)),
                                (Self.connected, stats.connected ? 1 : 0), (Self.failures, Double(stats.connectionFailures))] {
            w.family(family)
            w.sample(family, .empty, .empty, value)
        }
    }
}
