import Clocks
import Yams

/// The alerting part of `--config.file`: rules, receivers and routes (SPEC section 6).
public struct AlertingConfig: Sendable {
    /// One `receivers:` entry: a name and exactly one kind with its settings.
    public enum Receiver: Sendable {
        case alertmanager(name: String, AlertmanagerConfig)
        case webhook(name: String, WebhookConfig)
        case command(name: String, CommandConfig)
        case log(name: String)

        public var name: String {
            switch self {
            case .alertmanager(let name, _), .webhook(let name, _), .command(let name, _), .log(let name): return name
            }
        }
    }

    public var evaluationInterval: Double = 1
    public var rules: [AlertRule] = AlertRule.defaults
    public var receivers: [Receiver] = [.log(name: "log")]
    public var routes: [AlertRoute] = []
    /// What loads but deserves a change, with its line (deprecated names); `check-config` prints
    /// these and the exporter logs them.
    public var warnings: [ConfigError] = []

    /// The config without a file: the six built-in rules and the log receiver.
    public init() {}

    /// Reads a YAML config; every problem names its line.
    public init(yaml: String) throws(ConfigError) {
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: yaml) else { return }
            root = node
        } catch let error as YamlError {
            throw ConfigError(line: Self.line(of: error), "not valid YAML: \(Self.problem(of: error))")
        } catch {
            throw ConfigError(line: nil, "not valid YAML: \(error)")
        }
        let fields = try YAMLReader(node: root, path: "").mapping(allowed: ["evaluation_interval", "rules", "receivers", "routes"])
        if let value = fields["evaluation_interval"] {
            evaluationInterval = try value.duration()
            guard evaluationInterval > 0 else { throw value.fail("must be positive") }
        }
        if let value = fields["rules"] {
            rules = []
            for entry in try value.sequence() { rules.append(try RuleConfigReader.read(entry)) }
        }
        if let value = fields["receivers"] {
            receivers = []
            for entry in try value.sequence() {
                let receiver = try ReceiverConfigReader.read(entry)
                if receivers.contains(where: { $0.name == receiver.name }) { throw entry.fail("receiver \"\(receiver.name)\" is defined twice") }
                if case .webhook(_, let config) = receiver, config.groupBy.contains(AlertLabels.deprecatedJob) {
                    warnings.append(Self.deprecatedJob(entry, "webhook.group_by"))
                }
                receivers.append(receiver)
            }
            guard !receivers.isEmpty else { throw value.fail("at least one receiver is needed (use `- name: log` with `log: {}`)") }
        }
        if let value = fields["routes"] {
            for entry in try value.sequence() {
                let route = try Self.route(entry)
                guard receivers.contains(where: { $0.name == route.receiver }) else {
                    throw entry.fail("route to unknown receiver \"\(route.receiver)\" (known: \(receivers.map(\.name).joined(separator: ", ")))")
                }
                if route.match[AlertLabels.deprecatedJob] != nil { warnings.append(Self.deprecatedJob(entry, "match")) }
                routes.append(route)
            }
        }
    }

    private static func deprecatedJob(_ entry: YAMLReader, _ field: String) -> ConfigError {
        ConfigError(line: entry.line, "\(entry.path).\(field): \"\(AlertLabels.deprecatedJob)\" is deprecated, write \"\(AlertLabels.job)\" "
            + "(the job label was renamed in 2026-11; \"\(AlertLabels.deprecatedJob)\" still means \"\(AlertLabels.job)\" for alerts without a \"\(AlertLabels.deprecatedJob)\" label of their own)")
    }

    private static func route(_ reader: YAMLReader) throws(ConfigError) -> AlertRoute {
        let fields = try reader.mapping(allowed: ["receiver", "match", "continue"])
        guard let receiver = fields["receiver"] else { throw reader.fail("missing field \"receiver\"") }
        return AlertRoute(
            receiver: try receiver.string(), match: try fields["match"]?.stringMap() ?? [:],
            continueMatching: try fields["continue"]?.bool() ?? false)
    }

    /// The engine's view: rules, routes, receiver names and who wants re-sends.
    public func setup(externalURL: String) -> AlertingSetup {
        var resend: [String: Double] = [:]
        for case .alertmanager(let name, let config) in receivers { resend[name] = config.resendInterval }
        return AlertingSetup(rules: rules, routes: routes, receivers: receivers.map(\.name), resendIntervals: resend, externalURL: externalURL)
    }

    /// Builds the receivers; fails on settings only a receiver can judge (URLs, timeouts). `clock` stamps
    /// what they send (`endsAt`, log lines) and reads `Retry-After` dates.
    public func makeReceivers(externalURL: String, clock: any TimeSource = WallClock()) throws(ReceiverConfigError) -> [any AlertReceiver] {
        let now: @Sendable () -> Double = { clock.now() }
        var out: [any AlertReceiver] = []
        for receiver in receivers {
            switch receiver {
            case .alertmanager(let name, let config): out.append(try AlertmanagerReceiver(name: name, config: config, now: now))
            case .webhook(let name, var config):
                config.externalURL = externalURL
                out.append(try WebhookReceiver(name: name, config: config, now: now))
            case .command(let name, let config): out.append(try CommandReceiver(name: name, config: config))
            case .log(let name): out.append(LogReceiver(name: name, now: now))
            }
        }
        return out
    }

    private static func line(of error: YamlError) -> Int? {
        switch error {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _): return mark.line
        default: return nil
        }
    }

    private static func problem(of error: YamlError) -> String {
        switch error {
        case .scanner(let context, let problem, _, _), .parser(let context, let problem, _, _), .composer(let context, let problem, _, _):
            return [context.map { "\($0.text)" }, problem].compactMap { $0 }.joined(separator: ": ")
        default: return "\(error)"
        }
    }
}
