import Foundation
#if canImport(Glibc)
import Glibc
#endif
@testable import Alerting

/// Namespace of the delivery tests, so `--filter AlertingTests.DeliveryTests` runs exactly them and helpers stay apart
/// from the rest of the target's.
enum DeliveryTests {
    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    /// A notification with the labels the engine sets; `name` becomes the `alertname`.
    static func notification(
        _ name: String = "AgentStalled", job: String = "etl", agent: String? = "worker-1", severity: String = "warning",
        status: AlertNotification.Status = .firing, startsAt: Double = 1_800_000_000, endsAt: Double? = nil,
        summary: String = "no progress", extra: [String: String] = [:]
    ) -> AlertNotification {
        var labels = ["alertname": name, "job_name": job, "severity": severity]
        if let agent { labels["agent"] = agent }
        labels.merge(extra) { $1 }
        return AlertNotification(
            labels: labels, annotations: ["summary": summary], status: status, startsAt: startsAt,
            endsAt: status == .resolved ? (endsAt ?? startsAt + 60) : endsAt,
            generatorURL: "http://127.0.0.1:9465/api/v1/alerts")
    }

    /// Polls `condition` every 20 ms for at most `seconds`; returns whether it held.
    static func eventually(within seconds: Double = 10, _ condition: () throws -> Bool) async rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            // A poll that fails (a slow answer on a busy machine) counts as "not yet"; only the
            // last poll's error is reported.
            if (try? condition()) == true { return true }
            try? await Task.sleep(nanoseconds: 20_000_000)
        }
        return try condition()
    }

    /// A TCP port on 127.0.0.1 that was free a moment ago, for servers that must be told their port.
    static func freePort() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw Failure("socket: errno \(errno)") }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(descriptor, pointer, length) == 0 && getsockname(descriptor, pointer, &length) == 0
            }
        }
        guard bound else { throw Failure("bind: errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// A fresh temporary directory, removed by the caller.
    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("delivery-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// A JSON object from a body, or a failure naming what came instead.
    static func object(_ data: Data) throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw Failure("not a JSON object: \(String(decoding: data, as: UTF8.self))")
        }
        return object
    }
}
