import Foundation
import Synchronization
import Testing
@testable import Alerting

extension DeliveryTests {
    @Suite struct Dispatcher {
        /// Backoff short enough for tests; everything else as in production unless a test says otherwise.
        static func options(capacity: Int = 1000, batch: Int = 64, clock: (@Sendable () -> Double)? = nil) -> DispatcherOptions {
            var options = DispatcherOptions(
                queueCapacity: capacity, maxBatchSize: batch,
                backoff: RetryBackoff(initial: 0.01, factor: 2, maximum: 0.05), stopGrace: 2)
            if let clock { options.clock = clock }
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
            #expect(await DeliveryTests.eventually { dispatcher.stats()[receiver: "scripted"]?.success == 150 })
            #expect(receiver.batches.map(\.count) == [64, 64, 22])
            #expect(receiver.batches.flatMap { $0 }.map { $0.labels["agent"]! } == (0..<150).map { "a\($0)" })
            #expect(dispatcher.stats()[receiver: "scripted"]?.queueLength == 0)
        }

        @Test func enqueueReturnsWhileTheReceiverIsStuck() async {
            let receiver = ScriptedReceiver()
            receiver.hold()
            let dispatcher = NotificationDispatcher(receivers: [receiver], options: Self.options(capacity: 2000))
            dispatcher.start()
            defer { dispatcher.stop() }
            dispatcher.enqueue([DeliveryTests.notification(agent: "first")], to: "scripted")
            #expect(await DeliveryTests.eventually { receiver.isInside })
            for index in 0..<1000 { dispatcher.enqueue([DeliveryTests.notification(agent: "a\(index)")], to: "scripted") }
            // Getting here at all is the point: the worker is inside `deliver` and nothing was delivered.
            let stuck = dispatcher.stats()[receiver: "scripted"]
            #expect(stuck?.queueLength == 1001)
            #expect(stuck?.success == 0)
            receiver.release()
            #expect(await DeliveryTests.eventually { dispatcher.stats()[receiver: "scripted"]?.success == 1001 })
        }

        @Test func fullQueueDropsTheOldestAndCountsThem() async {
            let receiver = ScriptedReceiver()
            receiver.hold()
            let dispatcher = NotificationDispatcher(receivers: [receiver], options: Self.options(capacity: 10))
            dispatcher.start()
            defer { dispatcher.stop() }
            dispatcher.enqueue([DeliveryTests.notification(agent: "first")], to: "scripted")
            #expect(await DeliveryTests.eventually { receiver.isInside })
            dispatcher.enqueue((1...15).map { DeliveryTests.notification(agent: "a\($0)") }, to: "scripted")
            #expect(dispatcher.stats()[receiver: "scripted"]?.dropped == 6)
            receiver.release()
            #expect(await DeliveryTests.eventually { dispatcher.stats()[receiver: "scripted"]?.success == 10 })
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
            #expect(await DeliveryTests.eventually { dispatcher.stats()[receiver: "scripted"]?.success == 1 })
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
            #expect(await DeliveryTests.eventually { !receiver.batches.isEmpty })
            dispatcher.enqueue([DeliveryTests.notification(agent: "c")], to: "scripted")
            #expect(await DeliveryTests.eventually { dispatcher.stats()[receiver: "scripted"]?.success == 3 })
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
            #expect(await DeliveryTests.eventually { dispatcher.stats()[receiver: "scripted"]?.success == 1 })
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
            #expect(await DeliveryTests.eventually { dispatcher.stats()[receiver: "scripted"]?.failed == 1 })
            #expect((dispatcher.stats()[receiver: "scripted"]?.retried ?? 0) >= 1)
        }

        @Test func latencyRunsFromEnqueueToDelivery() async {
            let clock = DeliveryTests.StepClock(100)
            let receiver = ScriptedReceiver()
            receiver.hold()
            let dispatcher = NotificationDispatcher(receivers: [receiver], options: Self.options(clock: { clock.now }))
            dispatcher.start()
            defer { dispatcher.stop() }
            dispatcher.enqueue([DeliveryTests.notification(agent: "a"), DeliveryTests.notification(agent: "b")], to: "scripted")
            #expect(await DeliveryTests.eventually { receiver.isInside })
            clock.set(100.3)
            receiver.release()
            #expect(await DeliveryTests.eventually { dispatcher.stats()[receiver: "scripted"]?.success == 2 })
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
            #expect(await DeliveryTests.eventually { receiver.isInside })
            dispatcher.enqueue([DeliveryTests.notification(agent: "a", summary: "5m")], to: "scripted")
            dispatcher.enqueue([DeliveryTests.notification(agent: "a", summary: "6m")], to: "scripted")
            #expect(dispatcher.stats()[receiver: "scripted"]?.queueLength == 2)
            receiver.release()
            #expect(await DeliveryTests.eventually { dispatcher.stats()[receiver: "scripted"]?.success == 2 })
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

    /// A clock the test sets; reads come from the worker thread.
    final class StepClock: Sendable {
        private let value: Mutex<Double>
        init(_ start: Double) { value = Mutex(start) }
        var now: Double { value.withLock { $0 } }
        func set(_ time: Double) { value.withLock { $0 = time } }
    }
}
