import Foundation
import Synchronization
import Testing
@testable import Alerting

extension DeliveryTests {
    @Suite struct Command {
        @Test func programGetsTheBatchOnStdinAndTheFirstAlertInItsEnvironment() throws {
            let directory = try DeliveryTests.temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let out = directory.appendingPathComponent("out").path
            let receiver = try CommandReceiver(
                name: "page", config: CommandConfig(argv: ["sh", "-c", #"cat > "$1"; printf '%s %s' "$ALERT_NAME" "$ALERT_COUNT" > "$1.env""#, "sh", out]))
            try receiver.deliver([DeliveryTests.notification("AgentLost"), DeliveryTests.notification("AgentStalled", agent: "b")])
            let message = try DeliveryTests.object(try Data(contentsOf: URL(fileURLWithPath: out)))
            #expect(message["version"] as? String == "4")
            #expect(message["receiver"] as? String == "page")
            #expect((message["alerts"] as? [Any])?.count == 2)
            #expect(try String(contentsOfFile: out + ".env", encoding: .utf8) == "AgentLost 2")
        }

        @Test func cancelStopsARunningProgramAtOnceAndLaterRunsFailAtOnce() throws {
            let receiver = try CommandReceiver(name: "page", config: CommandConfig(argv: ["sleep", "60"], timeout: 60, killGrace: 0.5))
            let outcome = Mutex<(error: DeliveryError?, seconds: Double)?>(nil)
            let done = DispatchSemaphore(value: 0)
            Thread {
                let started = Date()
                var failure: DeliveryError?
                do throws(DeliveryError) { try receiver.deliver([DeliveryTests.notification()]) } catch { failure = error }
                outcome.withLock { $0 = (failure, Date().timeIntervalSince(started)) }
                done.signal()
            }.start()
            Thread.sleep(forTimeInterval: 0.5)
            #expect(outcome.withLock { $0 } == nil, "sleep 60 still runs")
            receiver.cancelDeliveries()
            #expect(done.wait(timeout: .now() + 10) == .success, "cancel must stop the program long before its 60 s")
            let (error, seconds) = try #require(outcome.withLock { $0 })
            #expect(error?.retryable == true && error?.message.contains("cancelled") == true, "\(String(describing: error))")
            #expect(seconds < 10)
            let later = #expect(throws: DeliveryError.self) { try receiver.deliver([DeliveryTests.notification()]) }
            #expect(later?.message.contains("cancelled") == true)
        }

        @Test func nonZeroExitIsRetryableWithItsStderr() throws {
            let receiver = try CommandReceiver(name: "page", config: CommandConfig(argv: ["/bin/sh", "-c", "echo pager down >&2; exit 3"]))
            let error = #expect(throws: DeliveryError.self) { try receiver.deliver([DeliveryTests.notification()]) }
            #expect(error?.retryable == true)
            #expect(error?.message == "/bin/sh exited with 3: pager down")
        }

        @Test func programThatIgnoresStdinStillDelivers() throws {
            let receiver = try CommandReceiver(name: "page", config: CommandConfig(argv: ["/bin/true"]))
            try receiver.deliver((0..<2000).map { DeliveryTests.notification(agent: "a\($0)", summary: String(repeating: "x", count: 100)) })
        }

        @Test func programPastItsTimeoutIsKilledWithItsChildrenAndRetryable() async throws {
            let directory = try DeliveryTests.temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let pidFile = directory.appendingPathComponent("pid").path
            // Ignoring SIGTERM (inherited by the sleep) forces the SIGKILL after the grace.
            let script = #"trap '' TERM; sleep 30 & echo $! > "$1"; wait"#
            let receiver = try CommandReceiver(
                name: "page", config: CommandConfig(argv: ["/bin/sh", "-c", script, "sh", pidFile], timeout: 0.5, killGrace: 0.3))
            let started = Date()
            let error = #expect(throws: DeliveryError.self) { try receiver.deliver([DeliveryTests.notification()]) }
            let elapsed = Date().timeIntervalSince(started)
            #expect(error?.retryable == true)
            #expect(error?.message.contains("was killed") == true)
            #expect(elapsed < 5)
            let sleepPid = try #require(Int32(try String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
            #expect(await eventually(within: 5) { !Self.isAlive(sleepPid) })
        }

        @Test func programThatCannotStartIsFinal() throws {
            let receiver = try CommandReceiver(name: "page", config: CommandConfig(argv: ["/nonexistent/pager"]))
            let error = #expect(throws: DeliveryError.self) { try receiver.deliver([DeliveryTests.notification()]) }
            #expect(error?.retryable == false)
        }

        /// Gone, or a zombie waiting for a reaper: either way it no longer runs.
        private static func isAlive(_ pid: Int32) -> Bool {
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return false }
            guard let close = stat.lastIndex(of: ")") else { return false }
            return !stat[stat.index(close, offsetBy: 2)...].hasPrefix("Z")
        }
    }
}
