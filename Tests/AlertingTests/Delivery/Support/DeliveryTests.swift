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
