import Alerting
import Clocks
import ConfigFiles
import Exposition
import Foundation
import MicroHTTP
import Synchronization
import Tracking

/// The built-in alerting as the exporter runs it: config file, engine, delivery, evaluation loop and reload.
final class AlertingService: Sendable {
    /// Forwards to the current dispatcher, so a reload can swap receivers under a running engine.
    private final class CurrentDispatcher: NotificationSink {
        let dispatcher: Mutex<NotificationDispatcher>
        init(_ dispatcher: NotificationDispatcher) { self.dispatcher = Mutex(dispatcher) }
        func enqueue(_ notifications: [AlertNotification], to receiver: String) {
            dispatcher.withLock { $0 }.enqueue(notifications, to: receiver)
        }
    }

    private let configFile: String?
    private let externalURL: String
    private let shutdownGrace: Double
    let engine: AlertEngine
    private let current: CurrentDispatcher
    private let loop: UpkeepLoop
    /// Whether the last load succeeded, and when the last successful one was (a failed reload leaves
    /// that time alone, as Prometheus's `..._last_reload_success_timestamp_seconds`).
    private let reloads: Mutex<(successful: Bool, lastSuccessAt: Double)>
    /// The exporter's wall clock: reload times, and what receivers stamp.
    private let clock: any TimeSource

    /// `--storage.path`: fires and resolves on disk before they are sent (`AlertStateJournal`).
    private let journal = Mutex<AlertStateJournal?>(nil)

    /// False when the exporter runs the built-in rules without `--config.file`: a reload has nothing to read.
    var hasConfigFile: Bool { configFile != nil }

    /// Reads the config file (or takes the built-in rules without one); throws with the line and reason.
    /// `shutdownGrace`: seconds `stop()` (and a reload, for the old receivers) waits for deliveries in flight.
    init(configFile: String?, externalURL: String, store: ProgressStore, shutdownGrace: Double = 5, clock: any TimeSource = WallClock()) throws {
        self.clock = clock
        reloads = Mutex((true, clock.now()))
        self.configFile = configFile
        self.externalURL = externalURL
        self.shutdownGrace = shutdownGrace
        let config = try Self.load(configFile)
        let dispatcher = try Self.dispatcher(for: config, externalURL: externalURL, shutdownGrace: shutdownGrace, clock: clock)
        current = CurrentDispatcher(dispatcher)
        let engine = AlertEngine(store: store, setup: config.setup(externalURL: externalURL), sink: current)
        self.engine = engine
        // Evaluate every interval, and soon after events arrive, so a resolve follows the progress that
        // ends it within half a second. Not more often: an evaluation visits every agent, and at 50k
        // agents under constant ingest ten a second took a third of the CPU.
        loop = UpkeepLoop(interval: config.evaluationInterval, minimumGap: 0.5) { engine.evaluate() }
    }

    /// Logs the config's warnings (deprecated names) unless `logWarnings` is false (`check-config` prints them).
    static func load(_ path: String?, logWarnings: Bool = true) throws -> AlertingConfig {
        guard let path else { return AlertingConfig() }
        let text: String
        do throws(FileBytes.Failure) {
            // A folder says "Is a directory", not a Foundation error number.
            text = String(decoding: try FileBytes.read(path, limit: 16 << 20), as: UTF8.self)
        } catch {
            throw ConfigError(file: path, line: nil, "cannot read: \(error.reason)")
        }
        do {
            let config = try AlertingConfig(yaml: text)
            _ = try config.makeReceivers(externalURL: "")
            for warning in config.warnings where logWarnings { Log.warn("configuration warning", ["file": path, "warning": warning.description]) }
            return config
        } catch let error as ConfigError {
            throw ConfigError(file: path, line: error.line, error.message)
        } catch {
            throw ConfigError(file: path, line: nil, "\(error)")
        }
    }

    private static func dispatcher(
        for config: AlertingConfig, externalURL: String, shutdownGrace: Double, clock: any TimeSource
    ) throws -> NotificationDispatcher {
        let receivers = try config.makeReceivers(externalURL: externalURL, clock: clock)
        return NotificationDispatcher(receivers: receivers, options: DispatcherOptions(stopGrace: shutdownGrace, onFailure: { receiver, error, willRetry in
            Log.warn("alert delivery failed", ["receiver": receiver, "err": error.message, "retry": "\(willRetry)"])
        }))
    }

    /// Opens the alert-state journal in `folder` (after the snapshot was restored): the alert states
    /// take what receivers were last told, and from now on every fire and resolve is on disk before it is sent.
    func persistAlertStates(in folder: String) throws {
        let (opened, announced) = try AlertStateJournal.open(folder: folder)
        if let announced {
            engine.adoptAnnounced(announced)
            if !announced.isEmpty { Log.info("alert states restored from the alert journal", ["firing": "\(announced.count)"]) }
        } else {
            // A new journal starts from what the snapshot says is firing (announced before the journal existed).
            let firing = engine.activeAlerts().filter { $0.state == .firing }
            if !firing.isEmpty { opened.record(firing.map { .fired($0) }) }
        }
        engine.persistTransitions { opened.record($0) }
        journal.withLock { $0 = opened }
    }

    func start() {
        current.dispatcher.withLock { $0 }.start()
        loop.start()
    }

    /// Called after events were applied: evaluate soon.
    func eventsApplied() { loop.wake() }

    func stop() {
        loop.stop()
        current.dispatcher.withLock { $0 }.stop()
    }

    /// Re-reads the config file; a bad file is refused with its line and reason and the running config stays.
    @discardableResult
    func reload() -> Result<Void, ConfigError> {
        guard let configFile else {
            Log.info("no configuration file to reload; the built-in rules keep running", ["hint": "start with --config.file to use one"])
            return .success(())
        }
        let result: Result<Void, ConfigError>
        do {
            let config = try Self.load(configFile)
            let fresh = try Self.dispatcher(for: config, externalURL: externalURL, shutdownGrace: shutdownGrace, clock: clock)
            fresh.start()
            let old = current.dispatcher.withLock { dispatcher in
                defer { dispatcher = fresh }
                return dispatcher
            }
            engine.replace(config.setup(externalURL: externalURL))
            old.stop()
            result = .success(())
            Log.info("configuration reloaded", ["file": configFile])
        } catch let error as ConfigError {
            result = .failure(error)
        } catch {
            result = .failure(ConfigError(line: nil, "\(error)"))
        }
        if case .failure(let error) = result { Log.error("configuration not reloaded; the old one keeps running", ["err": error.description]) }
        let now = clock.now()
        reloads.withLock { reload in
            reload.successful = result.isSuccess
            if result.isSuccess { reload.lastSuccessAt = now }
        }
        return result
    }

    static let notifications = MetricFamily("progress_exporter_alert_notifications_total", .counter, help: "Alert notifications by receiver and result: success, retried (per retry), failed, dropped.")
    static let latency = MetricFamily("progress_exporter_alert_notification_latency_seconds", .histogram, help: "Time from queueing a notification to its delivery.")
    static let queueLength = MetricFamily("progress_exporter_alert_queue_length", .gauge, help: "Notifications waiting per receiver.")
    static let reloadOK = MetricFamily("progress_exporter_config_last_reload_successful", .gauge, help: "1 if the last configuration load succeeded.")
    static let reloadTime = MetricFamily("progress_exporter_config_last_reload_success_timestamp_seconds", .gauge, help: "Unix time of the last successful configuration load.")

    func collect(into w: inout ExpositionWriter) {
        engine.collect(into: &w)
        journal.withLock { $0 }?.collect(into: &w)
        let stats = current.dispatcher.withLock { $0 }.stats()
        w.family(Self.notifications)
        for receiver in stats.receivers {
            for result in DeliveryResult.allCases {
                w.sample(Self.notifications, LabelSet([("receiver", receiver.receiver), ("result", result.rawValue)]), .empty, Double(receiver[result]))
            }
        }
        w.family(Self.latency)
        for receiver in stats.receivers {
            w.histogram(Self.latency, LabelSet([("receiver", receiver.receiver)]), bounds: HistogramBounds(receiver.latency.bounds),
                        cumulativeCounts: receiver.latency.cumulativeCounts + [receiver.latency.count], sum: receiver.latency.sum)
        }
        w.family(Self.queueLength)
        for receiver in stats.receivers {
            w.sample(Self.queueLength, LabelSet([("receiver", receiver.receiver)]), .empty, Double(receiver.queueLength))
        }
        let reload = reloads.withLock { $0 }
        w.family(Self.reloadOK)
        w.sample(Self.reloadOK, .empty, .empty, reload.successful ? 1 : 0)
        w.family(Self.reloadTime)
        w.sample(Self.reloadTime, .empty, .empty, reload.lastSuccessAt)
    }
}

extension Result {
    fileprivate var isSuccess: Bool {
        if case .success = self { return true }
        return false
    }
}
