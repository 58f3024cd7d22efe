import EventSources
import Exposition
import Synchronization
import Tracking

/// `--events.nats-url`: JetStream messages applied through the one writer, each with its stream
/// sequence as the consumer's position, so a message delivered again (after a missed
/// acknowledgement or a restart) is recognised and not counted twice.
///
/// When a message is acknowledged depends on what makes it durable:
/// - with `--storage.journal`: the payload is written to the journal (with the stream sequence)
///   before it is applied, and acknowledged at once;
/// - with `--storage.path` alone: acknowledged once a snapshot holding its batch is written (so the
///   consumer's ack wait must be longer than the snapshot interval);
/// - with neither: acknowledged once applied (the state does not outlive the process anyway).
final class NATSIngest: Sendable, SelfMetricsCollector {
    let source: NATSSource
    /// The position's name in the state: `nats:<stream>/<consumer>`.
    let positionName: String

    init(settings: NATSSource.Settings, ingestor: Ingestor, journal: Journal?, snapshots: Snapshotter?,
         restored: [SourcePosition], readiness: Readiness) {
        let name = "nats:\(settings.stream)/\(settings.consumer)"
        positionName = name
        let start = restored.first { !$0.isFile && !$0.isStream && $0.path == name }.map { UInt64(clamping: $0.offset) } ?? 0
        let progress = Progress(appliedThrough: start)
        let handler: @Sendable (NATSSource.Delivery) -> NATSSource.Acknowledgement = { delivery in
            let position = SourcePosition.sequence(source: "nats", name: name, through: delivery.streamSequence)
            if delivery.streamSequence <= progress.appliedThrough.withLock({ $0 }) {
                // Applied before (its acknowledgement was lost, or came too late): acknowledge it
                // once what applied it is durable.
                progress.tally.withLock { $0.duplicates += 1 }
                if journal == nil, snapshots != nil { return .afterSnapshot(sequence: ingestor.store.sourcePositions().sequence) }
                return .now
            }
            let batch = ingestor.decodeNative(delivery.payload)
            if let journal {
                do {
                    _ = try journal.commit(source: "nats", body: delivery.payload, position: position) { journalPosition in
                        ingestor.apply(batch, source: "nats", positions: [journalPosition, position])
                    }
                } catch {
                    Log.error("NATS message not applied: the journal failed; trying again", ["stream_sequence": "\(delivery.streamSequence)", "err": "\(error)"])
                    return .retry
                }
                progress.appliedThrough.withLock { $0 = delivery.streamSequence }
                progress.tally.withLock { $0.applied += 1 }
                return .now
            }
            let outcome = ingestor.apply(batch, source: "nats", positions: [position])
            progress.appliedThrough.withLock { $0 = delivery.streamSequence }
            progress.tally.withLock { $0.applied += 1 }
            return snapshots == nil ? .now : .afterSnapshot(sequence: outcome.sequence)
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
                    Log.info("NATS source reading", ["stream": settings.stream, "consumer": settings.consumer, "subject": settings.subject, "after_sequence": "\(progress.appliedThrough.withLock { $0 })"])
                }
            })
        self.progress = progress
    }

    /// How far this consumer's messages are applied, and what became of them.
    private final class Progress: Sendable {
        let appliedThrough: Mutex<UInt64>
        let tally = Mutex<(applied: UInt64, duplicates: UInt64)>((0, 0))
        init(appliedThrough: UInt64) { self.appliedThrough = Mutex(appliedThrough) }
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
