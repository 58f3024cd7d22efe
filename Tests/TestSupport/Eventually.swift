import Foundation

/// Polls `condition` every 20 ms until it holds or `seconds` pass; true when it held. A poll that
/// throws (a server not listening yet, a slow answer) counts as "not yet"; the last poll's error is
/// thrown. The one way tests wait for something another thread or process does.
public func eventually(within seconds: Double = 10, _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if (try? await condition()) == true { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return try await condition()
}
