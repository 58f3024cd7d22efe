import Foundation
import Synchronization
import Testing
@testable import Alerting

extension DeliveryTests {
    /// The libcurl client against receivers that hang: it waits asleep, times out, and can be cancelled.
    @Suite struct Poster {
        /// CPU seconds the calling thread has used; libcurl's waiting happens on it.
        static func threadCPU() -> Double {
            var time = timespec()
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
            return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
        }

        @Test func aReceiverThatNeverAnswersTimesOutWithoutBurningCPU() throws {
            let silent = try SilentListener()
            let poster = JSONPoster(timeout: 2)
            let cpuBefore = Self.threadCPU()
            let started = Date()
            let outcomes = poster.post([JSONPoster.Request(url: URL(string: silent.url)!, body: Data("[]".utf8))])
            let waited = Date().timeIntervalSince(started)
            let cpu = Self.threadCPU() - cpuBefore
            let failure = try #require(outcomes.first ?? nil)
            #expect(failure.retryable)
            #expect(failure.message.contains("timed out"), "\(failure.message)")
            #expect(waited >= 1.5 && waited < 10, "the 2 s timeout; took \(waited) s")
            #expect(cpu < 0.3, "waiting must sleep in poll, not spin: \(cpu) s of CPU over \(waited) s")
        }

        @Test func cancelEndsAHungTransferAtOnceAndLaterPostsFailAtOnce() throws {
            let silent = try SilentListener()
            let poster = JSONPoster(timeout: 60)
            let result = Mutex<(outcomes: [DeliveryError?], seconds: Double)?>(nil)
            let done = DispatchSemaphore(value: 0)
            let thread = Thread {
                let started = Date()
                let outcomes = poster.post([JSONPoster.Request(url: URL(string: silent.url)!, body: Data("[]".utf8))])
                result.withLock { $0 = (outcomes, Date().timeIntervalSince(started)) }
                done.signal()
            }
            thread.start()
            Thread.sleep(forTimeInterval: 0.5)
            #expect(result.withLock { $0 } == nil, "still waiting for the receiver")
            poster.cancel()
            #expect(done.wait(timeout: .now() + 10) == .success, "cancel must end the transfer long before its 60 s timeout")
            let (outcomes, seconds) = try #require(result.withLock { $0 })
            let failure = try #require(outcomes.first ?? nil)
            #expect(failure.retryable && failure.message.contains("cancelled"), "\(failure.message)")
            #expect(seconds < 10)
            let later = poster.post([JSONPoster.Request(url: URL(string: silent.url)!, body: Data("[]".utf8))])
            #expect(later.first??.message.contains("cancelled") == true)
        }

        @Test func aRefusedConnectionIsRetryable() throws {
            let port = try SilentListener().port // closed again when the listener goes
            let outcomes = JSONPoster(timeout: 5).post([JSONPoster.Request(url: URL(string: "http://127.0.0.1:\(port)/x")!, body: Data("[]".utf8))])
            let failure = try #require(outcomes.first ?? nil)
            #expect(failure.retryable)
            #expect(failure.statusCode == nil)
        }
    }
}
