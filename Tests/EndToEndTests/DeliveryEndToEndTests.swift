import Foundation
import TestSupport
import Testing
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Alert delivery through the real binary against receivers that hang and against a real Alertmanager flooded with
/// alerts, on 127.0.0.1 ("Safe to expose": a hung webhook used to burn a core and hold shutdown for a minute, and more
/// than a thousand alerts at once lost most of them).
extension AlertingEndToEndTests {
    /// A config whose rule fires one second after an agent starts, delivered to `receiver` (a YAML flow mapping).
    static func stallConfig(_ receiver: String, in folder: URL) throws -> URL {
        let config = folder.appendingPathComponent("config.yml")
        try """
            evaluation_interval: 1s
            rules:
              - alert: AgentStalled
                kind: agent_stalled
                after: 1s
                for: 0s
                severity: warning
            receivers:
              - name: r
                \(receiver)
            """.write(to: config, atomically: true, encoding: .utf8)
        return config
    }

    static func folder(_ name: String) throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    /// Starts an exporter whose webhook receiver hangs, and returns once a delivery is waiting on it.
    static func exporterWithHungDelivery(_ listener: SilentListener, folder: URL, grace: String? = nil) async throws -> ExporterProcess {
        let config = try stallConfig(#"webhook: {url: "http://127.0.0.1:\#(listener.port)/hook", timeout: 120s}"#, in: folder)
        let exporter = try await ExporterProcess(["--config.file", config.path] + (grace.map { ["--alerting.shutdown-grace", $0] } ?? []))
        _ = try await exporter.request("POST", "/events", body: #"{"type":"agent_started","job":"etl","agent":"w1","item":"a"}"#)
        // The alert fires after a second and its notification stays queued (in flight) while the receiver hangs.
        let queued = try await eventually(within: 15) {
            sample(try await exporter.metrics(), #"progress_exporter_alert_queue_length{receiver="r"}"#) == 1
        }
        guard queued else { throw TestFailure("no delivery started") }
        try await Task.sleep(for: .milliseconds(500))
        return exporter
    }

    @Test func aReceiverThatNeverAnswersCostsNoCPUWhileTheDeliveryWaits() async throws {
        let folder = try Self.folder("pe-hung-cpu")
        defer { try? FileManager.default.removeItem(at: folder) }
        let listener = try SilentListener()
        let exporter = try await Self.exporterWithHungDelivery(listener, folder: folder)
        defer { exporter.stop() }
        let pid = exporter.process.processIdentifier
        let before = try cpuSeconds(pid)
        try await Task.sleep(for: .seconds(3))
        let used = try cpuSeconds(pid) - before
        let metrics = try await exporter.metrics()
        #expect(sample(metrics, #"progress_exporter_alert_notifications_total{receiver="r",result="success"}"#) == 0, "still hanging")
        // The URLSession client polled in a loop here: about one core (1.7 s of CPU over these 3 s, measured).
        #expect(used < 0.5, "the exporter used \(used) s of CPU over 3 s while one delivery waited")
        print("hung receiver: exporter CPU \(used) s over 3 s of waiting")
    }

    @Test func sigtermWithAHungDeliveryExitsAfterTheGraceAndASecondSignalAtOnce() async throws {
        let folder = try Self.folder("pe-hung-stop")
        defer { try? FileManager.default.removeItem(at: folder) }
        let listener = try SilentListener()

        let graceful = try await Self.exporterWithHungDelivery(listener, folder: folder, grace: "1s")
        defer { graceful.stop() }
        var started = Date()
        kill(graceful.process.processIdentifier, SIGTERM)
        let exited = waitForExit(graceful.process, seconds: 30)
        let took = Date().timeIntervalSince(started)
        #expect(exited, "still running 30 s after SIGTERM (the delivery's timeout is 120 s)")
        #expect(took < 1 + 5, "grace 1 s plus a generous margin; took \(took) s")
        #expect(graceful.process.terminationStatus == 0)

        let stubborn = try await Self.exporterWithHungDelivery(listener, folder: folder, grace: "10m")
        defer { stubborn.stop() }
        kill(stubborn.process.processIdentifier, SIGTERM)
        try await Task.sleep(for: .milliseconds(700))
        #expect(stubborn.process.isRunning, "waits for the delivery within its 10 m grace")
        started = Date()
        kill(stubborn.process.processIdentifier, SIGTERM)
        #expect(waitForExit(stubborn.process, seconds: 10))
        let second = Date().timeIntervalSince(started)
        #expect(second < 3, "a second signal exits at once; took \(second) s")
        #expect(stubborn.process.terminationStatus == 1)
        print("hung receiver: SIGTERM exit after \(took) s (grace 1 s); second signal after \(second) s")
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/prometheus-alertmanager")))
    func fiveThousandAlertsAtOnceAllReachAlertmanager() async throws {
        let folder = try Self.folder("pe-am-flood")
        defer { try? FileManager.default.removeItem(at: folder) }
        let amPort = try freePort()
        let alertmanager = try startAlertmanager(port: amPort, folder: folder)
        defer { kill(alertmanager.processIdentifier, SIGKILL); alertmanager.waitUntilExit() }
        #expect(try await eventually(within: 15) { try await get("http://127.0.0.1:\(amPort)/-/ready").status == 200 })

        let config = try Self.stallConfig(#"alertmanager: {url: "http://127.0.0.1:\#(amPort)", resend_interval: 10m}"#, in: folder)
        let exporter = try await ExporterProcess(["--config.file", config.path])
        defer { exporter.stop() }
        let agents = 5000
        let body = (0..<agents).map { #"{"type":"agent_started","job":"flood","agent":"w\#($0)","item":"a"}"# }.joined(separator: "\n")
        #expect(try await exporter.request("POST", "/events", body: body).status < 300)

        // All 5,000 fire in the same evaluation and are queued at once.
        var count = 0
        let arrived = try await eventually(within: 60) {
            count = try await alertCount(amPort)
            return count == agents
        }
        #expect(arrived, "Alertmanager holds \(count) of \(agents) alerts")
        let metrics = try await exporter.metrics()
        #expect(sample(metrics, #"progress_exporter_alert_notifications_total{receiver="r",result="dropped"}"#) == 0)
        #expect(sample(metrics, #"progress_exporter_alert_notifications_total{receiver="r",result="success"}"#) == Double(agents))
        print("alert flood: \(count) of \(agents) alerts in Alertmanager")
    }

    /// How many active alerts Alertmanager holds.
    func alertCount(_ port: Int) async throws -> Int {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/api/v2/alerts?active=true&silenced=false&inhibited=false")!)
        request.timeoutInterval = 20
        let (data, _) = try await URLSession.shared.data(for: request)
        return (try JSONSerialization.jsonObject(with: data) as? [Any])?.count ?? 0
    }
}

/// utime + stime of a process, from /proc/<pid>/stat.
func cpuSeconds(_ pid: Int32) throws -> Double {
    let text = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
    guard let paren = text.lastIndex(of: ")") else { throw TestFailure("unreadable /proc/\(pid)/stat") }
    let fields = text[text.index(after: paren)...].split(separator: " ")
    guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else {
        throw TestFailure("unreadable /proc/\(pid)/stat")
    }
    return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
}

/// Polls until the process has exited, at most `seconds`.
func waitForExit(_ process: Process, seconds: Double) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
    return !process.isRunning
}

/// A TCP port on 127.0.0.1 that takes connections (the kernel completes them into the listen backlog) and never
/// answers: a receiver that hangs.
final class SilentListener: Sendable {
    let port: Int
    private let fd: Int32

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && listen(fd, 64) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard bound else {
            close(fd)
            throw TestFailure("no listening socket")
        }
        self.fd = fd
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(fd) }
}
