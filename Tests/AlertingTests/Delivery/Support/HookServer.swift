import Foundation

extension DeliveryTests {
    /// A webhook endpoint: python3's http.server in a subprocess (the test target does not depend on MicroHTTP), which
    /// records every POST to a file and answers `failStatus` to the first `failFirst` of them.
    final class HookServer {
        /// One request as the server saw it.
        struct Request {
            let status: Int
            let path: String
            let authorization: String?
            let contentType: String?
            let body: Data
        }

        let port: Int
        private let process = Process()
        private let record: URL

        init(port: Int = 0, failFirst: Int = 0, failStatus: Int = 500, delay: Double = 0) throws {
            record = FileManager.default.temporaryDirectory.appendingPathComponent("hook-\(UUID().uuidString).jsonl")
            _ = FileManager.default.createFile(atPath: record.path, contents: nil)
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", "-c", Self.script, record.path, String(port), String(failFirst), String(failStatus), String(delay)]
            let output = Pipe()
            process.standardOutput = output
            process.standardError = FileHandle.nullDevice
            try process.run()
            // The script prints its port once it listens; a dead script closes stdout instead.
            var text = ""
            let deadline = Date().addingTimeInterval(10)
            while !text.contains("\n"), Date() < deadline {
                let chunk = output.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                text += String(decoding: chunk, as: UTF8.self)
            }
            guard let bound = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                try? FileManager.default.removeItem(at: record)
                throw Failure("hook server did not start: \(text)")
            }
            self.port = bound
        }

        var url: String { "http://127.0.0.1:\(port)/hook" }

        /// Every request so far, in arrival order.
        func requests() throws -> [Request] {
            let data = try Data(contentsOf: record)
            return try data.split(separator: UInt8(ascii: "\n")).map { line in
                let object = try DeliveryTests.object(Data(line))
                return Request(
                    status: object["status"] as? Int ?? 0, path: object["path"] as? String ?? "",
                    authorization: object["authorization"] as? String, contentType: object["contentType"] as? String,
                    body: Data((object["body"] as? String ?? "").utf8))
            }
        }

        /// The bodies the server accepted (answered 200), as JSON objects.
        func acceptedBodies() throws -> [[String: Any]] {
            try requests().filter { $0.status == 200 }.map { try DeliveryTests.object($0.body) }
        }

        /// SIGKILL: a child started from a test thread inherits its blocked signals, SIGTERM among them.
        func stop() {
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
            }
        }

        deinit {
            stop()
            try? FileManager.default.removeItem(at: record)
        }

        private static let script = #"""
        import http.server, json, sys, threading, time
        record, port, fail_first, fail_status, delay = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
        lock = threading.Lock()
        seen = [0]
        class Hook(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with lock:
                    seen[0] += 1
                    status = fail_status if seen[0] <= fail_first else 200
                if delay:
                    time.sleep(delay)
                with lock, open(record, "a") as f:
                    f.write(json.dumps({"status": status, "path": self.path, "authorization": self.headers.get("Authorization"),
                                        "contentType": self.headers.get("Content-Type"), "body": body.decode()}) + "\n")
                reply = b"ok" if status == 200 else b"refused by test\nsecond line"
                self.send_response(status)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)
            def log_message(self, *args):
                pass
        server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Hook)
        print(server.server_address[1], flush=True)
        server.serve_forever()
        """#
    }
}
