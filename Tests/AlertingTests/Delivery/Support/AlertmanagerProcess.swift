import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

extension DeliveryTests {
    /// Debian's real Alertmanager on 127.0.0.1, clustering off, routing everything to a receiver that does nothing.
    final class AlertmanagerProcess {
        static let binary = "/usr/bin/prometheus-alertmanager"

        let port: Int
        private let process = Process()
        private let directory: URL

        init() throws {
            directory = try DeliveryTests.temporaryDirectory()
            let config = directory.appendingPathComponent("alertmanager.yml")
            try Data("route:\n  receiver: blackhole\nreceivers:\n  - name: blackhole\n".utf8).write(to: config)
            port = try freePort()
            process.executableURL = URL(fileURLWithPath: Self.binary)
            process.arguments = [
                "--config.file=\(config.path)", "--storage.path=\(directory.appendingPathComponent("data").path)",
                "--web.listen-address=127.0.0.1:\(port)", "--cluster.listen-address=",
            ]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
        }

        var base: String { "http://127.0.0.1:\(port)" }

        /// Polls `/-/ready` for at most 10 s.
        /// Alertmanager takes a few seconds to start on a busy machine; 30 s bounds it.
        func waitUntilReady() async -> Bool {
            await eventually(within: 30) {
                (try? self.get("/-/ready").status) == 200
            }
        }

        /// The alerts `GET /api/v2/alerts` lists (active ones by default).
        func alerts(_ query: String = "") throws -> [[String: Any]] {
            let answer = try get("/api/v2/alerts" + query)
            guard answer.status == 200, let alerts = try JSONSerialization.jsonObject(with: answer.body) as? [[String: Any]] else {
                throw Failure("GET /api/v2/alerts answered \(answer.status)")
            }
            return alerts
        }

        /// A blocking GET with a 2 s bound; polling loops call it.
        func get(_ path: String) throws -> (status: Int, body: Data) {
            let result = Answer()
            var request = URLRequest(url: URL(string: base + path)!)
            request.timeoutInterval = 2
            let done = DispatchSemaphore(value: 0)
            URLSession.shared.dataTask(with: request) { data, response, error in
                result.set(status: (response as? HTTPURLResponse)?.statusCode ?? -1, body: data ?? Data(), failed: error != nil)
                done.signal()
            }.resume()
            guard done.wait(timeout: .now() + 3) == .success, let answer = result.value else { throw Failure("GET \(path) timed out") }
            return answer
        }

        /// SIGKILL: a child started from a test thread inherits its blocked signals, SIGTERM among them, and the
        /// storage is thrown away anyway.
        func stop() {
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
            }
            try? FileManager.default.removeItem(at: directory)
        }

        deinit { stop() }

        private final class Answer: @unchecked Sendable {
            private let lock = NSLock()
            private var stored: (status: Int, body: Data)?
            func set(status: Int, body: Data, failed: Bool) {
                lock.lock()
                defer { lock.unlock() }
                if !failed { stored = (status, body) }
            }
            var value: (status: Int, body: Data)? {
                lock.lock()
                defer { lock.unlock() }
                return stored
            }
        }
    }
}
