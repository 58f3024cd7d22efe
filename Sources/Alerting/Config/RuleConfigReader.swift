import ConfigFiles
import Tracking

/// Reads one entry of `rules:` into an `AlertRule`, starting from the kind's defaults.
enum RuleConfigReader {
    static let fields: Set<String> = [
        "alert", "kind", "after", "after_floor", "after_factor", "for", "keep_firing_for", "severity", "jobs", "labels", "annotations", "enabled",
        "consecutive_failures", "failure_ratio", "min_attempts", "window", "deadline", "factor", "quantile", "min_items",
    ]

    static func read(_ reader: YAMLReader) throws(ConfigError) -> AlertRule {
        let fields = try reader.mapping(allowed: Self.fields)
        guard let kindReader = fields["kind"] else { throw reader.fail("missing field \"kind\"") }
        let kindText = try kindReader.string()
        guard let kind = AlertRule.Kind(rawValue: kindText) else {
            throw kindReader.fail("unknown kind \"\(kindText)\" (known: \(AlertRule.Kind.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        // Unset fields take the built-in rule's defaults for the kind.
        var rule = AlertRule.defaults.first { $0.kind == kind } ?? AlertRule(name: kindText, kind: kind)
        if let alert = fields["alert"] {
            rule.name = try alert.string()
            guard Self.isValidLabelValue(rule.name), !rule.name.isEmpty else { throw alert.fail("alert name must not be empty") }
        }
        if let value = fields["after"] {
            if (try? value.string()) == "auto" {
                guard kind == .agentStalled || kind == .agentLost else { throw value.fail("after: auto is for agent_stalled and agent_lost only") }
                rule.autoAfter = rule.autoAfter ?? AlertRule.AutoAfter()
            } else {
                rule.after = try value.duration()
                rule.autoAfter = nil
            }
        }
        if let value = fields["after_floor"] {
            guard rule.autoAfter != nil else { throw value.fail("after_floor needs after: auto") }
            rule.autoAfter?.floor = try value.duration()
        }
        if let value = fields["after_factor"] {
            guard rule.autoAfter != nil else { throw value.fail("after_factor needs after: auto") }
            let factor = try value.double()
            guard factor >= 1, factor.isFinite else { throw value.fail("after_factor must be at least 1") }
            rule.autoAfter?.factor = factor
        }
        if let value = fields["for"] { rule.forDuration = try value.duration() }
        if let value = fields["keep_firing_for"] { rule.keepFiringFor = try value.duration() }
        if let value = fields["severity"] { rule.severity = try value.string() }
        if let value = fields["jobs"] {
            let pattern = try value.string()
            do {
                rule.jobs = try IDPattern(pattern)
            } catch {
                // The pattern and RE2's reason, e.g. "(a" is not a valid regular expression: missing ): (a
                throw value.fail(error.description)
            }
        }
        if let value = fields["labels"] {
            rule.labels = try value.stringMap()
            // `job` is allowed: the job id is `job_name` now, and a `job` label (say, the scrape job's
            // name) lets Alertmanager route these alerts with the ones Prometheus's rules send.
            for name in rule.labels.keys where !Self.isValidLabelName(name) || Self.reservedLabels.contains(name) {
                throw value.fail("label name \"\(name)\" is not allowed (must match [a-zA-Z_][a-zA-Z0-9_]* and not be alertname, severity, job_name or agent)")
            }
        }
        if let value = fields["annotations"] { rule.annotations = try value.stringMap() }
        if let value = fields["enabled"] { rule.enabled = try value.bool() }
        if let value = fields["consecutive_failures"] { rule.consecutiveFailures = try value.int() }
        if let value = fields["failure_ratio"] {
            rule.failureRatio = try value.double()
            guard (0...1).contains(rule.failureRatio) else { throw value.fail("failure_ratio must be between 0 and 1") }
        }
        if let value = fields["min_attempts"] { rule.minAttempts = try value.int() }
        if let value = fields["window"] { rule.window = try value.duration() }
        if let value = fields["deadline"] { rule.deadline = try value.timestamp() }
        if let value = fields["factor"] {
            rule.factor = try value.double()
            guard rule.factor >= 1, rule.factor.isFinite else { throw value.fail("factor must be at least 1") }
        }
        if let value = fields["quantile"] {
            rule.quantile = try value.double()
            guard (0...0.5).contains(rule.quantile) else { throw value.fail("quantile must be between 0 and 0.5") }
        }
        if let value = fields["min_items"] {
            rule.minItems = try value.int()
            guard rule.minItems >= 1 else { throw value.fail("min_items must be at least 1") }
        }
        if rule.after < 0 || rule.forDuration < 0 || rule.keepFiringFor < 0 || (rule.autoAfter?.floor ?? 0) < 0 || rule.window <= 0 { throw reader.fail("durations must not be negative") }
        return rule
    }

    /// Labels every built-in alert sets itself.
    static let reservedLabels: Set<String> = ["alertname", "severity", AlertLabels.job, AlertLabels.agent]

    static func isValidLabelName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first == "_" || (first.isASCII && first.properties.isAlphabetic) else { return false }
        return name.unicodeScalars.allSatisfy { $0 == "_" || ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) }
    }

    static func isValidLabelValue(_ value: String) -> Bool { !value.contains("\0") }
}
