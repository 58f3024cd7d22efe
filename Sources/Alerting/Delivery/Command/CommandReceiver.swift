import Foundation

/// Runs a program once per batch: webhook-shaped JSON on standard input, the first alert in `ALERT_*` variables.
public struct CommandReceiver: AlertReceiver {
    public let name: String
    public let config: CommandConfig
    private let executable: URL
    private let cancellation = BoundedProcess.Cancellation()

    public init(name: String, config: CommandConfig) throws(ReceiverConfigError) {
        self.name = name
        self.config = config
        guard let program = config.argv.first, !program.isEmpty else {
            throw ReceiverConfigError(receiver: name, reason: "argv is empty")
        }
        guard config.timeout > 0, config.killGrace >= 0 else {
            throw ReceiverConfigError(receiver: name, reason: "timeout must be positive and kill grace not negative")
        }
        executable = Self.resolve(program)
    }

    /// Exit 0 delivers; a non-zero exit or an overrun is retryable (a pager's outage passes); a program that cannot
    /// start is final, since trying again a moment later starts nothing either.
    public func deliver(_ batch: [AlertNotification]) throws(DeliveryError) {
        guard !batch.isEmpty else { return }
        let message = WebhookMessage(receiver: name, groupLabels: [:], notifications: batch, externalURL: "")
        let input = try DeliveryJSON.encode(message)
        let environment = ProcessInfo.processInfo.environment.merging(CommandEnvironment.variables(for: batch)) { $1 }
        let ending: BoundedProcess.Ending
        do {
            ending = try BoundedProcess.run(
                executable: executable, arguments: Array(config.argv.dropFirst()), environment: environment,
                input: input, timeout: config.timeout, killGrace: config.killGrace, cancellation: cancellation)
        } catch {
            throw DeliveryError(retryable: false, "\(config.argv[0]) cannot run: \(error.localizedDescription)")
        }
        switch ending {
        case .exited(status: 0, _):
            return
        case .exited(let status, let stderr):
            throw DeliveryError(retryable: true, "\(config.argv[0]) exited with \(status)" + Self.excerpt(stderr))
        case .killedAtTimeout(let stderr):
            throw DeliveryError(retryable: true, "\(config.argv[0]) ran past \(config.timeout) s and was killed" + Self.excerpt(stderr))
        case .cancelled(let stderr):
            throw DeliveryError(retryable: true, "\(config.argv[0]) stopped: cancelled at shutdown" + Self.excerpt(stderr))
        }
    }

    /// Stops a program still running (SIGTERM to its group, SIGKILL after the kill grace) and runs no more: shutdown
    /// is past its grace.
    public func cancelDeliveries() { cancellation.cancel() }

    private static func excerpt(_ stderr: String) -> String {
        let text = DeliveryClassification.excerpt(of: Data(stderr.utf8))
        return text.isEmpty ? "" : ": \(text)"
    }

    /// `PATH` lookup as a shell does, so `argv: [notify-send, ...]` works; a name not found stays as given and
    /// fails at run time with the system's reason.
    private static func resolve(_ program: String) -> URL {
        guard !program.contains("/") else { return URL(fileURLWithPath: program) }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":") where !directory.isEmpty {
            let candidate = URL(fileURLWithPath: String(directory)).appendingPathComponent(program)
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        return URL(fileURLWithPath: program)
    }
}
