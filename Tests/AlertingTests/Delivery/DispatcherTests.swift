import Foundation
import Synchronization
import Testing
import Tracking
@testable import Alerting

extension DeliveryTests {
    @Suite struct Dispatcher {
        /// Backoff short enough for tests; everything else as in production unless a test says otherwise.
        static func options(capacity: Int = 1000, batch: Int = 64, clock: ManualClock? = nil) -> DispatcherOptions {
            var options = DispatcherOptions(
                queueCapacity: capacity, maxBatchSize: batch,
                backoff: RetryBackoff(initial: 0.01, factor: 2, maximum: 0.05), stopGrace: 2)
            if let clock {
                options.clock = clock
                // The grace is on the clock too, and a manual clock stands still: stop at once.
                options.stopGrace = 0
            }
            return options
        }

        static let retryable = DeliveryError(retryable: true, "HTTP 503", statusCode: 503)
        static let final = DeliveryError(retryable: false, "HTTP 400", statusCode: 400)

        @Test func deliversInBatchesOfAtMostTheBatchSize() async {
            let receiver = ScriptedReceiver()
            receiver.hold()
            let dispatcher = NotificationDispatcher(receivers: [receiver], options: Self.options(batch: 64))
            dispatcher.start()
            defer { dispatcher.stop() }
            dispatcher.enqueue((0..<150).map { DeliveryTests.notification(agent: "a\($0)") }, to: "scripted")
            receiver.release()
            #expect(await eventually { dispatcher.stats()[receiver: "scripted"]?.success == 150 })
            #expect(receiver.batches.map(\.count) == [64, 64, 22])
            #expect(receiver.batches.flatMap { $0 }.map { $0.labels["agent"]! } == (0..<150).map { "a\($0)" })
            #expect(dispatcher.stats()[receiver: "scripted"]?.queueLength == 0)
        }

        @Test func fiveThousandAlertsAtOnceFitTheDefaultQueueAndGoInBatches() async {
            let receiver = ScriptedReceiver()
            receiver.hold()
            let dispatcher = NotificationDispatcher(receivers: [receiver], options: DispatcherOptions())
            dispatcher.start()
            defer { dispatcher.stop() }
            dispatcher.enqueue((0..<5000).map { DeliveryTests.notification(agent: "a\($0)") }, to: "scripted")
            #expect(dispatcher.stats()[receiver: "scripted"]?.dropped == 0)
            receiver.release()
            #expect(await eventually { dispatcher.stats()[receiver: "scripted"]?.success == 5000 })
            #expect(dispatcher.stats()[receiver: "scripted"]?.dropped == 0)
            #expect(receiver.batches.map(\.count) == Array(repeating: 256, count: 19) + [136])
        }

        @Test func enqueueReturnsWhileTheReceiverIsStuck() async {
            let receiver = ScriptedReceiver()
            receiver.hold()
            let dispatcher = NotificationDispatcher(receivers: [receiver], options: Self.options(capacity: 2000))
            dispatcher.start()
            defer { dispatcher.stop() }
            dispatcher.enqueue([DeliveryTests.notification(agent: "first")], to: "scripted")
            #expect(await eventually { receiver.isInside })
            for index in 0..<1000 { dispatcher.enqueue([DeliveryTests.notification(agent: "a\(index)")], to: "scripted") }
            // Getting here at all is the point: the worker is inside `deliver` and nothing was delivered.
            let stuck = dispatcher.stats()[receiver: "scripted"]
            #expect(stuck?.queueLength == 1001)
            #expect(stuck?.success == 0)
            receiver.release()
            #expect(await eventually { dispatcher.stats()[receiver: "scripted"]?.success == 1001 })
        }

        @Test func fullQueueDropsTheOldestAndCountsThem() async {
            let receiver = ScriptedReceiver()
            receiver.hold()
            let dispatcher = NotificationDispatcher(receivers: [receiver], options: Self.options(capacity: 10))
            dispatcher.start()
            defer { dispatcher.stop() }
            dispatcher.enqueue([DeliveryTests.notification(agent: "first")], to: "scripted")
            #expect(await eventually { receiver.isInside })
            dispatcher.enqueue((1...15).map { DeliveryTests.notification(agent: "a\($0)") }, to: "scripted")
            #expect(dispatcher.stats()[receiver: "scripted"]?.dropped == 6)
            receiver.release()
            #expect(await eventually { dispatcher.stats()[receiver: "scripted"]?.success == 10 })
            // The batch under way had been pushed out; it was delivered but counts once, as dropped.
            let delivered = receiver.batches.dropFirst().flatMap { $0 }.map { $0.labels["agent"]! }
            #expect(delivered == (6...15).map { "a\($0)" })
            #expect(dispatcher.stats()[receiver: "scripted"]?.dropped == 6)
        }

        @Test func retryableFailureRetriesTheSameBatchThenSucceeds() async {
            let receiver = ScriptedReceiver(outcomes: [Self.retryable, Self.retryable])
            let failures = DeliveryTests.Lines()
            var options = Self.options()
            options.onFailure = { name, error, willRetry in failures.append("\(name) \(error.statusCode ?? 0) \(willRetry)") }
            let dispatcher = NotificationDispatcher(receivers: [receiver], options: options)
            dispatcher.start()
            defer { dispatcher.stop() }
            dispatcher.enqueue([DeliveryTests.notification(agent: "a")], to: "scripted")
            #expect(await eventually { dispatcher.stats()[receiver: "scripted"]?.success == 1 })
            let stats = dispatcher.stats()[receiver: "scripted"]
            #expect(stats?.retried == 2)
            #expect(stats?.failed == 0)
            #expect(receiver.batches.map { $0.map { $0.labels["agent"]! } } == [["a"], ["a"], ["a"]])
            #expect(failures.all == ["scripted 503 true", "scripted 503 true"])
        }

        @Test func notificationsQueuedDuringRetriesFollowTheBatch() async {
            let receiver = ScriptedReceiver(outcomes: [Self.retryable, Self.retryable, Self.retryable])
            let dispatcher = NotificationDispatcher(receivers: [receiver], options: Self.options(batch: 2))
            dispatcher.start()
            defer { dispatcher.stop() }
            dispatcher.enqueue([DeliveryTests.notification(agent: "a"), DeliveryTests.notification(agent: "b")], to: "scripted")
            #expect(await eventually { !receiver.batches.isEmpty })
            dispatcher.enqueue([DeliveryTests.notification(agent: "c")], to: "scripted")
            #expect(await eventually { dispatcher.stats()[receiver: "scripted"]?.success == 3 })
            let batches = receiver.batches.map { $0.map { $0.labels["agent"]! } }
            #expect(batches.dropLast().allSatisfy { $0 == ["a", "b"] })
            #expect(batches.last == ["c"])
        }

        @Test func finalFailureDropsTheBatchAsFailedAndMovesOn() async {
            let receiver = ScriptedReceiver(outcomes: [Self.final])
            let dispatcher = NotificationDispatcher(receivers: [receiver], options: Self.options(batch: 2))
            dispatcher.start()
            defer { dispatcher.stop() }
            dispatcher.enqueue((1...3).map { DeliveryTests.notification(agent: "a\($0)") }, to: "scripted")
            #expect(await eventually { dispatcher.stats()[receiver: "scripted"]?.success == 1 })
            let stats = dispatcher.stats()[receiver: "scripted"]
            #expect(stats?.failed == 2)
            #expect(stats?.retried == 0)
            #expect(receiver.batches.count == 2)
        }

        @Test func retriesStopAfterTheRetryLimit() async {
            let receiver = ScriptedReceiver(outcomes: Array(repeating: Self.retryable, count: 10_000))
            var options = Self.options()
            options.maxRetryDuration = 0.1
            let dispatcher = NotificationDispatcher(receivers: [receiver], options: options)
            dispatcher.start()
            defer { dispatcher.stop() }
            dispatcher.enqueue([DeliveryTests.notification()], to: "scripted")
            #expect(await eventually { dispatcher.stats()[receiver: "scripted"]?.failed == 1 })
            #expect((dispatcher.stats()[receiver: "scripted"]?.retried ?? 0) >= 1)
        }

        @Test func latencyRunsFromEnqueueToDelivery() async {
            let clock = ManualClock(100)
            let receiver = ScriptedReceiver()
            receiver.hold()
            let dispatcher = NotificationDispatcher(receivers: [receiver], options: Self.options(clock: clock))
            dispatcher.start()
            defer { dispatcher.stop() }
            dispatcher.enqueue([DeliveryTests.notification(agent: "a"), DeliveryTests.notification(agent: "b")], to: "scripted")
            #expect(await eventually { receiver.isInside })
            clock.set(100.3)
            receiver.release()
            #expect(await eventually { dispatcher.stats()[receiver: "scripted"]?.success == 2 })
            let latency = dispatcher.stats()[receiver: "scripted"]!.latency
            #expect(latency.bounds == LatencyHistogram.defaultBounds)
            #expect(latency.cumulativeCounts == [0, 0, 0, 0, 0, 0, 2, 2, 2, 2, 2])
            #expect(latency.count == 2)
            #expect(abs(latency.sum - 0.6) < 1e-9)
        }

        @Test func laterNotificationForAQueuedAlertReplacesIt() async {
            let receiver = ScriptedReceiver()
            receiver.hold()
            let dispatcher = NotificationDispatcher(receivers: [receiver], options: Self.options())
            dispatcher.start()
            defer { dispatcher.stop() }
            dispatcher.enqueue([DeliveryTests.notification(agent: "busy")], to: "scripted")
            #expect(await eventually { receiver.isInside })
            dispatcher.enqueue([DeliveryTests.notification(agent: "a", summary: "5m")], to: "scripted")
            dispatcher.enqueue([DeliveryTests.notification(agent: "a", summary: "6m")], to: "scripted")
            #expect(dispatcher.stats()[receiver: "scripted"]?.queueLength == 2)
            receiver.release()
            #expect(await eventually { dispatcher.stats()[receiver: "scripted"]?.success == 2 })
            #expect(receiver.batches.last?.map { $0.annotations["summary"]! } == ["6m"])
        }

        @Test func stopDeliversWhatIsQueued() {
            let receiver = ScriptedReceiver()
            let dispatcher = NotificationDispatcher(receivers: [receiver], options: Self.options(batch: 3))
            dispatcher.start()
            dispatcher.enqueue((1...10).map { DeliveryTests.notification(agent: "a\($0)") }, to: "scripted")
            dispatcher.stop()
            #expect(dispatcher.stats()[receiver: "scripted"]?.success == 10)
            dispatcher.enqueue([DeliveryTests.notification()], to: "scripted")
            #expect(dispatcher.stats()[receiver: "scripted"]?.dropped == 1)
            #expect(dispatcher.stats()[receiver: "scripted"]?.queueLength == 0)
        }

        @Test func stopGivesUpOnAFailingReceiverAfterTheGrace() {
            let receiver = ScriptedReceiver(outcomes: Array(repeating: Self.retryable, count: 10_000))
            var options = Self.options()
            options.stopGrace = 0.2
            let healthy = ScriptedReceiver(name: "healthy")
            let dispatcher = NotificationDispatcher(receivers: [receiver, healthy], options: options)
            dispatcher.start()
            dispatcher.enqueue((1...5).map { DeliveryTests.notification(agent: "a\($0)") }, to: "scripted")
            dispatcher.enqueue((1...5).map { DeliveryTests.notification(agent: "a\($0)") }, to: "healthy")
            let started = Date()
            dispatcher.stop()
            #expect(Date().timeIntervalSince(started) < 5)
            let stats = dispatcher.stats()
            #expect(stats[receiver: "scripted"]?.dropped == 5)
            #expect(stats[receiver: "scripted"]?.success == 0)
            #expect(stats[receiver: "healthy"]?.success == 5)
            #expect(stats.receivers.map(\.receiver) == ["scripted", "healthy"])
        }

        @Test func backoffWaitsOnTheInjectedClock() async {
            // Retry n waits half of 10 x 2^(n-1) seconds on the clock: 5 s, then 10 s; no real time passes.
            let clock = ManualClock(1000)
            let receiver = ScriptedReceiver(outcomes: [Self.retryable, Self.retryable])
            var options = Self.options(clock: clock)
            options.backoff = RetryBackoff(initial: 10, factor: 2, maximum: 60, random: { 0.5 })
            let dispatcher = NotificationDispatcher(receivers: [receiver], options: options)
            dispatcher.start()
            defer { dispatcher.stop() }
            dispatcher.enqueue([DeliveryTests.notification()], to: "scripted")
            #expect(await eventually { receiver.batches.count == 1 })
            func stillWaiting(_ attempts: Int) async -> Bool {
                try? await Task.sleep(for: .milliseconds(300))
                return receiver.batches.count == attempts
            }
            #expect(await stillWaiting(1), "no retry before the clock moves")
            clock.set(1004.9)
            dispatcher.clockAdvanced()
            #expect(await stillWaiting(1), "4.9 s of a 5 s backoff")
            clock.set(1005)
            dispatcher.clockAdvanced()
            #expect(await eventually { receiver.batches.count == 2 }, "retry 1 after 5 s")
            #expect(await stillWaiting(2))
            clock.set(1014.9)
            dispatcher.clockAdvanced()
            #expect(await stillWaiting(2), "9.9 s of a 10 s backoff")
            clock.set(1015)
            dispatcher.clockAdvanced()
            #expect(await eventually { dispatcher.stats()[receiver: "scripted"]?.success == 1 })
            let stats = dispatcher.stats()[receiver: "scripted"]!
            #expect(stats.retried == 2)
            #expect(stats.latency.sum == 15, "queued at 1000, delivered at 1015 on the clock")
        }

        @Test func retryLimitCountsOnTheInjectedClock() async {
            let clock = ManualClock(0)
            let receiver = ScriptedReceiver(outcomes: Array(repeating: Self.retryable, count: 100))
            var options = Self.options(clock: clock)
            options.backoff = RetryBackoff(initial: 60, factor: 1, maximum: 60, random: { 0.5 })
            options.maxRetryDuration = 100
            let dispatcher = NotificationDispatcher(receivers: [receiver], options: options)
            dispatcher.start()
            defer { dispatcher.stop() }
            dispatcher.enqueue([DeliveryTests.notification()], to: "scripted")
            // Each attempt's failure is handled (its retry scheduled, on the clock as it was) before
            // the clock moves on: moving it while the lane reads it would time the retry from later.
            #expect(await eventually { dispatcher.stats()[receiver: "scripted"]?.retried == 1 }, "attempt 1 at 0 s")
            for (time, attempts) in [(30.0, 2), (60, 3), (90, 4)] {
                clock.set(time)
                dispatcher.clockAdvanced()
                #expect(await eventually { receiver.batches.count == attempts && dispatcher.stats()[receiver: "scripted"]?.retried == UInt64(attempts) },
                        "attempt \(attempts) at \(time) s")
            }
            #expect(dispatcher.stats()[receiver: "scripted"]?.failed == 0)
            clock.set(120)
            dispatcher.clockAdvanced()
            #expect(await eventually { dispatcher.stats()[receiver: "scripted"]?.failed == 1 },
                    "the attempt at 120 s is past 100 s of failing and gives up")
            #expect(receiver.batches.count == 5)
        }

        @Test func stopCancelsADeliveryStillInFlightAfterTheGrace() {
            let receiver = ScriptedReceiver()
            receiver.hold()
            var options = Self.options()
            options.stopGrace = 0.3
            let dispatcher = NotificationDispatcher(receivers: [receiver], options: options)
            dispatcher.start()
            dispatcher.enqueue((1...3).map { DeliveryTests.notification(agent: "a\($0)") }, to: "scripted")
            let inside = Date().addingTimeInterval(5)
            while !receiver.isInside, Date() < inside { Thread.sleep(forTimeInterval: 0.01) }
            let started = Date()
            dispatcher.stop()
            let took = Date().timeIntervalSince(started)
            #expect(receiver.wasCancelled)
            #expect(took >= 0.25 && took < 5, "grace 0.3 s; took \(took) s")
            #expect(dispatcher.stats()[receiver: "scripted"]?.dropped == 3)
        }

        @Test func stopDoesNotWaitForAReceiverThatIgnoresCancellation() {
            let receiver = StubbornReceiver()
            var options = Self.options()
            options.stopGrace = 0.2
            let dispatcher = NotificationDispatcher(receivers: [receiver], options: options)
            dispatcher.start()
            dispatcher.enqueue([DeliveryTests.notification()], to: "stubborn")
            let started = Date()
            dispatcher.stop()
            let took = Date().timeIntervalSince(started)
            #expect(took < 5, "grace 0.2 s plus about a second; took \(took) s")
            receiver.finish()
        }

        @Test func unknownReceiverAndEmptyBatchesQueueNothing() {
            let receiver = ScriptedReceiver()
            let dispatcher = NotificationDispatcher(receivers: [receiver], options: Self.options())
            dispatcher.enqueue([DeliveryTests.notification()], to: "nobody")
            dispatcher.enqueue([], to: "scripted")
            #expect(dispatcher.stats()[receiver: "scripted"]?.queueLength == 0)
            #expect(dispatcher.receiverNames == ["scripted"])
            dispatcher.stop()
        }
    }
    /// A receiver whose delivery ignores cancellation and ends only when the test says (a command running to its
    /// own timeout).
    final class StubbornReceiver: AlertReceiver {
        let name = "stubborn"
        private let done = DispatchSemaphore(value: 0)
        func deliver(_ batch: [AlertNotification]) throws(DeliveryError) {
            _ = done.wait(timeout: .now() + 30)
        }
        func finish() { done.signal() }
    }
}
