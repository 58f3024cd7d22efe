import Foundation

/// One receiver's queue, counters and worker thread.
///
/// `@unchecked Sendable`: every mutable property is read and written only with `condition` locked; the worker
/// releases it while a delivery runs, so `enqueue` only ever waits for a few queue operations.
final class DeliveryLane: @unchecked Sendable {
    private enum Phase {
        case idle, running
        /// Delivering what is queued until the deadline.
        case stopping(deadline: Date)
        case finished
    }

    let receiver: any AlertReceiver
    private let options: DispatcherOptions
    private let condition = NSCondition()
    private var queue: DeliveryQueue
    private var stats: ReceiverDeliveryStats
    private var phase = Phase.idle

    init(receiver: any AlertReceiver, options: DispatcherOptions) {
        self.receiver = receiver
        self.options = options
        queue = DeliveryQueue(capacity: options.queueCapacity)
        stats = ReceiverDeliveryStats(receiver: receiver.name, latencyBounds: options.latencyBounds)
    }

    func start() {
        condition.lock()
        defer { condition.unlock() }
        guard case .idle = phase else { return }
        phase = .running
        let thread = Thread { [self] in work() }
        thread.name = "alert-delivery-\(receiver.name)"
        thread.start()
    }

    func enqueue(_ notifications: [AlertNotification]) {
        let now = options.clock()
        condition.lock()
        defer { condition.unlock() }
        switch phase {
        case .idle, .running:
            stats.dropped += UInt64(queue.append(notifications, at: now))
            condition.signal()
        case .stopping, .finished:
            stats.dropped += UInt64(notifications.count)
        }
    }

    /// Asks the worker to finish within `grace` seconds; `join()` waits for it.
    func beginStop(grace: Double) {
        condition.lock()
        defer { condition.unlock() }
        switch phase {
        case .idle:
            // No worker ever ran: nothing will deliver what is queued.
            stats.dropped += UInt64(queue.removeAll())
            phase = .finished
        case .running:
            phase = .stopping(deadline: Date().addingTimeInterval(grace))
            condition.broadcast()
        case .stopping, .finished:
            break
        }
    }

    /// Waits until the worker has returned; a delivery under way still runs to its own timeout.
    func join() {
        condition.lock()
        defer { condition.unlock() }
        while true {
            if case .finished = phase { return }
            condition.wait()
        }
    }

    func snapshot() -> ReceiverDeliveryStats {
        condition.lock()
        defer { condition.unlock() }
        var copy = stats
        copy.queueLength = queue.count
        return copy
    }

    private func work() {
        var attempt = 0
        var failingSince: Double?
        condition.lock()
        while let batch = nextBatch() {
            condition.unlock()
            var failure: DeliveryError?
            do { try receiver.deliver(batch.map(\.notification)) } catch { failure = error }
            let now = options.clock()
            if let failure {
                let since = failingSince ?? now
                let willRetry = failure.retryable && now - since < options.maxRetryDuration
                options.onFailure?(receiver.name, failure, willRetry)
                condition.lock()
                if willRetry {
                    failingSince = since
                    attempt += 1
                    stats.retried += 1
                    sleep(seconds: options.backoff.delay(beforeRetry: attempt))
                } else {
                    failingSince = nil
                    attempt = 0
                    stats.failed += UInt64(queue.remove(batch).count)
                }
            } else {
                failingSince = nil
                attempt = 0
                condition.lock()
                for entry in queue.remove(batch) {
                    stats.success += 1
                    stats.latency.observe(max(0, now - entry.enqueuedAt))
                }
            }
        }
        condition.broadcast()
        condition.unlock()
    }

    /// With the lock held: waits for work and returns the head batch, or nil once stopped; what a stop leaves
    /// undelivered is counted as dropped.
    private func nextBatch() -> [DeliveryQueue.Entry]? {
        while true {
            switch phase {
            case .idle, .finished:
                return nil
            case .running:
                if !queue.isEmpty { return queue.head(options.maxBatchSize) }
                condition.wait()
            case .stopping(let deadline):
                if !queue.isEmpty && Date() < deadline { return queue.head(options.maxBatchSize) }
                stats.dropped += UInt64(queue.removeAll())
                phase = .finished
                return nil
            }
        }
    }

    /// With the lock held: the backoff wait, cut short by a stop's deadline.
    private func sleep(seconds: Double) {
        let wake = Date().addingTimeInterval(seconds)
        while true {
            var until = wake
            if case .stopping(let deadline) = phase { until = min(wake, deadline) }
            if Date() >= until { return }
            _ = condition.wait(until: until)
        }
    }
}
