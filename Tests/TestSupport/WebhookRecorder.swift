import Foundation

/// A webhook receiver on 127.0.0.1: python3's http.server in a subprocess that records every POST
/// (its arrival time, path, Authorization, Content-Type and body) and answers as told, in this order: a
/// reply cut off in its headers to the first `cutFirst` requests, `429` with `Retry-After` to the next
/// `throttleFirst`, `failStatus` to the next `failFirst`, 200 to the rest; each after `delay` seconds.
public final class WebhookRecorder {
    /// One request as the server saw it.
    public struct Request: Sendable {
        /// Unix seconds it arrived.
        public let time: Double
        /// What the server answered: 200, 429, `failStatus`, or 0 for a cut-off reply.
        public let status: Int
        public let path: String
        public let authorization: String?
        public let contentType: String?
        public let body: Data

        /// The alerts of a webhook message (version 4) in the body: each one's labels, status and startsAt.
        public var alerts: [(labels: [String: String], status: String, startsAt: String)] {
            guard let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any],
                  let alerts = object["alerts"] as? [[String: Any]] else { return [] }
            return alerts.map { alert in
                ((alert["labels"] as? [String: String]) ?? [:], (alert["status"] as? String) ?? "", (alert["startsAt"] as? String) ?? "")
            }
        }
    }

    public let port: Int
    private let process = Process()
    private let record: URL

    public init(
        port: Int = 0, throttleFirst: Int = 0, retryAfter: String = "3", cutFirst: Int = 0, failFirst: Int = 0,
        failStatus: Int = 500, delay: Double = 0
    ) throws {
        record = FileManager.default.temporaryDirectory.appendingPathComponent("recorder-\(UUID().uuidString).jsonl")
        _ = FileManager.default.createFile(atPath: record.path, contents: nil)
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "python3", "-c", Self.script, record.path, String(port), String(throttleFirst), retryAfter, String(cutFirst),
            String(failFirst), String(failStatus), String(delay),
        ]
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
            throw RecorderFailure(description: "webhook recorder did not start: \(text)")
        }
        self.port = bound
    }

    public var url: String { "http://127.0.0.1:\(port)/hook" }

    /// Every request so far, in arrival order.
    public func requests() -> [Request] {
        guard let data = try? Data(contentsOf: record) else { return [] }
        return data.split(separator: UInt8(ascii: "\n")).compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] else { return nil }
            return Request(
                time: object["time"] as? Double ?? 0, status: object["status"] as? Int ?? 0, path: object["path"] as? String ?? "",
                authorization: object["authorization"] as? String, contentType: object["contentType"] as? String,
                body: Data((object["body"] as? String ?? "").utf8))
        }
    }

    /// The bodies the server accepted (answered 200), as JSON objects.
    public func acceptedBodies() -> [[String: Any]] {
        requests().filter { $0.status == 200 }.compactMap { try? JSONSerialization.jsonObject(with: $0.body) as? [String: Any] }
    }

    /// Every alert the server accepted (answered 200), in order.
    public func acceptedAlerts() -> [(labels: [String: String], status: String, startsAt: String)] {
        requests().filter { $0.status == 200 }.flatMap(\.alerts)
    }

    /// SIGKILL: a child started from a test thread inherits its blocked signals, SIGTERM among them.
    public func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: record)
    }

    struct RecorderFailure: Error, CustomStringConvertible {
        let description: String
    }

    private static let script = #"""
    import http.server, json, sys, threading, time
    record, port, throttle_first, retry_after, cut_first = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
    fail_first, fail_status, delay = int(sys.argv[6]), int(sys.argv[7]), float(sys.argv[8])
    lock = threading.Lock()
    seen = [0]
    class Hook(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        def do_POST(self):
            arrived = time.time()
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with lock:
                seen[0] += 1
                n = seen[0]
            if n <= cut_first:
                status = 0
            elif n <= cut_first + throttle_first:
                status = 429
            elif n <= cut_first + throttle_first + fail_first:
                status = fail_status
            else:
                status = 200
            if delay:
                time.sleep(delay)
            with lock, open(record, "a") as f:
                f.write(json.dumps({"time": arrived, "status": status, "path": self.path, "authorization": self.headers.get("Authorization"),
                                    "contentType": self.headers.get("Content-Type"), "body": body.decode()}) + "\n")
            if status == 0:
                self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/pl")
                self.wfile.flush()
                self.close_connection = True
                return
            reply = b"ok" if status == 200 else b"slow down" if status == 429 else b"refused by test\nsecond line"
            self.send_response(status)
            if status == 429:
                self.send_header("Retry-After", retry_after)
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
