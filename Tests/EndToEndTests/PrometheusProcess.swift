import Foundation
import TestSupport

/// Debian's real Prometheus on 127.0.0.1 with a given config, killed when the test is done.
final class PrometheusProcess {
    let process = Process()
    let port: Int

    init(config: String, storage: String) throws {
        port = try freePort()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/prometheus")
        process.arguments = ["--config.file=\(config)", "--storage.tsdb.path=\(storage)", "--web.listen-address=127.0.0.1:\(port)"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
    }

    func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    deinit { stop() }

    /// The result vector of an instant query.
    func query(_ promql: String) async throws -> [[String: Any]] {
        let encoded = promql.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        let answer = try await get("http://127.0.0.1:\(port)/api/v1/query?query=\(encoded)")
        let object = try JSONSerialization.jsonObject(with: answer.body) as? [String: Any]
        return ((object?["data"] as? [String: Any])?["result"] as? [[String: Any]]) ?? []
    }
}
