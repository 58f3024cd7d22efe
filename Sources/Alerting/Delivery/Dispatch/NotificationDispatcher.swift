/// Queues notifications per receiver and delivers them on one worker thread each, so the evaluation path never
/// waits for a slow or dead receiver.
public final class NotificationDispatcher: NotificationSink {
    private let lanes: [DeliveryLane]
    private let lanesByName: [String: DeliveryLane]
    private let options: DispatcherOptions

    /// Receiver names must be unique; workers start with `start()`.
    public init(receivers: [any AlertReceiver], options: DispatcherOptions = DispatcherOptions()) {
        precondition(options.queueCapacity > 0 && options.maxBatchSize > 0, "queue capacity and batch size must be positive")
        precondition(Set(receivers.map(\.name)).count == receivers.count, "receiver names must be unique")
        self.options = options
        lanes = receivers.map { DeliveryLane(receiver: $0, options: options) }
        lanesByName = Dictionary(uniqueKeysWithValues: lanes.map { ($0.receiver.name, $0) })
    }

    /// Without `stop()`, the workers would wait for work forever; this lets them end, dropping what is queued.
    deinit {
        let now = options.clock.now()
        for lane in lanes { lane.beginStop(deadline: now) }
    }

    /// The receivers' names, in the order given.
    public var receiverNames: [String] { lanes.map(\.receiver.name) }

    /// Starts one worker thread per receiver; calling it again does nothing.
    public func start() {
        for lane in lanes { lane.start() }
    }

    /// Queues notifications for a receiver and returns at once; a full queue drops its oldest entries.
    /// A name that is no receiver of this dispatcher queues nothing: routes are checked against receivers with the config.
    public func enqueue(_ notifications: [AlertNotification], to receiverName: String) {
        guard let lane = lanesByName[receiverName], !notifications.isEmpty else { return }
        lane.enqueue(notifications)
    }

    /// Delivers what it can within `DispatcherOptions.stopGrace`, then cancels deliveries still in flight, counts
    /// what is left as dropped and joins the workers; it returns at most about a second after the grace even when a
    /// receiver does not end at once when cancelled (a command gets its kill grace). Later `enqueue` calls
    /// count their notifications as dropped.
    public func stop() {
        let deadline = options.clock.now() + options.stopGrace
        for lane in lanes { lane.beginStop(deadline: deadline) }
        for lane in lanes { lane.join(deadline: deadline) }
    }

    /// Wakes the workers' timed waits (backoff, the stop deadline) to re-read the clock: for a clock that jumps, such
    /// as a test's manual clock. The real clocks never need it.
    public func clockAdvanced() {
        for lane in lanes { lane.clockAdvanced() }
    }

    /// Counters, latency and queue length of every receiver, in the order given.
    public func stats() -> DeliveryStats {
        DeliveryStats(receivers: lanes.map { $0.snapshot() })
    }
}
