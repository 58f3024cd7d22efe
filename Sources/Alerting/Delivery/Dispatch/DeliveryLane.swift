import Clocks
import Foundation
import Tracking

/// One receiver's queue, counters and worker thread.
///
/// `@unchecked Sendable`: every mutable property is read and written only with `condition` locked; the worker
/// releases it while a delivery runs, so `enqueue` only ever waits for a few queue operations. (`MonotonicCondition` is
/// the one lock here that a thread can sleep on with a deadline; `Mutex` has no condition variable.)
///
/// Every time comes from `options.clock`, so a test can drive backoff, retry limits and the stop deadline with a
/// manual clock; waits sleep on the condition for the clock's remaining time and re-check when woken, and
/// `clockAdvanced()` wakes them after a clock that jumps.
final class DeliveryLane: @unchecked Sendable {
    private enum Phase {
        case idle, running
        /// Delivering what is queued until the deadline (seconds on the clock).
        case stopping(deadline: Double)
        case finished
    }

    let receiver: any AlertReceiver
    private let options: DispatcherOptions
    private let condition = MonotonicCondition()
    private var queue: DeliveryQueue
    private var stats: ReceiverDeliveryStats
    private var phase = Phase.idle

    init(receiver: any AlertReceiver, options: DispatcherOptions) {
        self.receiver = receiver
        self.options = options
        queue = DeliveryQueue(capacity: options.queueCapacity)
        stats = ReceiverDeliveryStats(receiver: receiver.name, latencyBounds: options.latencyBounds)
    }

    private var now: Double { options.clock.now() }

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
        let now = self.now
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

    /// Asks the worker to deliver what is queued until `deadline` (on the clock) and then end; `join(deadline:)`
    /// waits for it.
    func beginStop(deadline: Double) {
        condition.lock()
        defer { condition.unlock() }
        switch phase {
        case .idle:
            // No worker ever ran: nothing will deliver what is queued.
            stats.dropped += UInt64(queue.removeAll())
            phase = .finished
        case .running:
            phase = .stopping(deadline: deadline)
            condition.broadcast()
        case .stopping, .finished:
            break
        }
    }

    /// Waits until the worker has returned or `deadline` (on the clock) passed; then cancels a delivery still in
    /// flight and waits at most `abandonAfter` more seconds of real time for the worker. A receiver that cannot be
    /// cancelled at once (a command gets its kill grace) is left to finish alone: the caller (shutdown, a reload) does
    /// not wait past that. Returns whether the worker finished.
    @discardableResult
    func join(deadline: Double, abandonAfter: Double = 1) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while !isFinished {
            if !wait(until: deadline) { break }
        }
        if isFinished { return true }
        condition.unlock()
        receiver.cancelDeliveries()
        condition.lock()
        let giveUp = MonotonicClock().now() + abandonAfter
        while !isFinished, condition.wait(seconds: giveUp - MonotonicClock().now()) {}
        return isFinished
    }

    /// Wakes the waits so they re-read the clock: for clocks that jump (a test's manual clock).
    func clockAdvanced() {
        condition.lock()
        condition.broadcast()
        condition.unlock()
    }

    func snapshot() -> ReceiverDeliveryStats {
        condition.lock()
        defer { condition.unlock() }
        var copy = stats
        copy.queueLength = queue.count
        return copy
    }

    /// With the lock held.
    private var isFinished: Bool {
        if case .finished = phase { return true }
        return false
    }

    /// With the lock held: sleeps until signalled or the clock reaches `deadline`; false once it has.
    private func wait(until deadline: Double) -> Bool {
        let remaining = deadline - now
        guard remaining > 0 else { return false }
        condition.wait(seconds: remaining)
        return true
    }

    private func work() {
        var attempt = 0
        var failingSince: Double?
        condition.lock()
        while let batch = nextBatch() {
            condition.unlock()
            var failure: DeliveryError?
            do { try receiver.deliver(batch.map(\.notification)) } catch { failure = error }
            let now = self.now
            if let failure {
                let since = failingSince ?? now
                let willRetry = failure.retryable && now - since < options.maxRetryDuration
                options.onFailure?(receiver.name, failure, willRetry)
                condition.lock()
                if willRetry {
                    failingSince = since
                    attempt += 1
                    stats.retried += 1
                    // A receiver's Retry-After is honoured, up to `maxRetryAfter`; the backoff when it asks for less.
                    let asked = min(max(0, failure.retryAfter ?? 0), options.maxRetryAfter)
                    backoff(seconds: max(options.backoff.delay(beforeRetry: attempt), asked))
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
                if !queue.isEmpty && now < deadline { return queue.head(options.maxBatchSize) }
                stats.dropped += UInt64(queue.removeAll())
                phase = .finished
                return nil
            }
        }
    }

    /// With the lock held: the backoff wait, cut short by a stop's deadline.
    private func backoff(seconds: Double) {
        let wake = now + seconds
        while true {
            var until = wake
            if case .stopping(let deadline) = phase { until = min(wake, deadline) }
            if !wait(until: until) { return }
        }
    }
}
