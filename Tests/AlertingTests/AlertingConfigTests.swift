import ConfigFiles
import Foundation
import Testing
@testable import Alerting

@Suite struct AlertingConfigTests {
    @Test func theShippedExampleLoads() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("examples/progress-exporter.yml")
        let config = try AlertingConfig(yaml: String(contentsOf: url, encoding: .utf8))
        #expect(config.rules.count == 9)
        #expect(Set(config.rules.map(\.kind)).count == 6, "the six built-in kinds are all written out")
        #expect(config.receivers.map(\.name) == ["log", "am", "hook", "page"])
        #expect(Set(config.routes.map(\.receiver)) == Set(config.receivers.map(\.name)), "every receiver is routed")
        for rule in config.rules {
            if let deadline = rule.deadline { #expect(deadline > Date().timeIntervalSince1970, "an example deadline in the past makes every matching job late") }
        }
        #expect(config.routes.first == AlertRoute(receiver: "am", match: ["severity": "critical"], continueMatching: true))
        let setup = config.setup(externalURL: "http://x")
        #expect(setup.resendIntervals == ["am": 60])
        let etl = RuleEvaluator(rules: config.rules).rules(for: "etl-7").first { $0.name == "AgentStalled" }
        #expect(etl?.after == 120 && etl?.labels == ["team": "batch"])
        #expect(RuleEvaluator(rules: config.rules).rules(for: "crawl-1").contains { $0.name == "AgentStalled" } == false)
        #expect(try config.makeReceivers(externalURL: "http://x").count == 4)
        #expect(config.warnings.isEmpty, "the example uses no deprecated names")
    }

    @Test func jobInMatchOrGroupByLoadsWithAWarningNamingTheLine() throws {
        let config = try AlertingConfig(yaml: """
            receivers:
              - name: hook
                webhook: {url: "http://127.0.0.1:1/hook", group_by: [job]}
            routes:
              - receiver: hook
                match: {job: etl}
            """)
        #expect(config.routes == [AlertRoute(receiver: "hook", match: ["job": "etl"])])
        #expect(config.warnings.map(\.line) == [2, 5])
        #expect(config.warnings.map(\.message) == [
            #"receivers[0].webhook.group_by: "job" is deprecated, write "job_name" (the job label was renamed in 2026-11; "job" still means "job_name" for alerts without a "job" label of their own)"#,
            #"routes[0].match: "job" is deprecated, write "job_name" (the job label was renamed in 2026-11; "job" still means "job_name" for alerts without a "job" label of their own)"#,
        ])
        #expect(try AlertingConfig(yaml: "routes:\n  - receiver: log\n    match: {job_name: etl}\n").warnings.isEmpty)
    }

    @Test func rulesMayAddAJobLabelButNotTheOnesTheyAlwaysSet() throws {
        let config = try AlertingConfig(yaml: "rules:\n  - kind: agent_lost\n    labels: {job: progress-exporter}\n")
        #expect(config.rules.first?.labels == ["job": "progress-exporter"])
        for name in ["job_name", "agent", "alertname", "severity"] {
            #expect {
                _ = try AlertingConfig(yaml: "rules:\n  - kind: agent_lost\n    labels: {\(name): x}\n")
            } throws: { error in
                (error as? ConfigError)?.message.contains("label name \"\(name)\" is not allowed") == true
            }
        }
    }

    @Test func noFileMeansTheBuiltInRulesAndTheLog() {
        let config = AlertingConfig()
        #expect(config.rules.map(\.name) == ["AgentStalled", "AgentLost", "AgentFailing", "JobStalled", "JobBehindSchedule", "AgentSlow"])
        #expect(config.receivers.map(\.name) == ["log"])
    }

    @Test func unsetFieldsTakeTheKindsDefaults() throws {
        let config = try AlertingConfig(yaml: "rules:\n  - kind: agent_stalled\n    after: 90s\n")
        let rule = try #require(config.rules.first)
        #expect(rule.name == "AgentStalled" && rule.after == 90 && rule.autoAfter == nil && rule.forDuration == 15 && rule.severity == "warning")
    }

    @Test(arguments: [
        ("rules:\n  - kind: agent_stalled\n    after: 5 minutes\n", 3, "rules[0].after: \"5 minutes\" is not a duration"),
        ("rules:\n  - kind: agent_sleeping\n", 2, "unknown kind \"agent_sleeping\""),
        ("rules:\n  - alert: X\n", 2, "missing field \"kind\""),
        ("evaluation_interval: 1s\nrulez: []\n", 2, "unknown field \"rulez\""),
        ("rules:\n  - kind: agent_stalled\n    jobs: \"([\"\n", 3, "\"([\" is not a valid regular expression: missing ]: ["),
        // RE2 syntax, as Prometheus: no backreferences or lookaround, which only a backtracking engine can run.
        ("rules:\n  - kind: job_stalled\n    after: 1m\n    jobs: \"(a)\\\\1\"\n", 4, "invalid escape sequence: \\1"),
        ("rules:\n  - kind: job_stalled\n    jobs: \"etl-(?=x)\"\n", 3, "invalid perl operator: (?="),
        ("receivers:\n  - name: a\n    log: {}\n  - name: a\n    log: {}\n", 4, "receiver \"a\" is defined twice"),
        ("receivers:\n  - name: a\n    log: {}\n    webhook: {url: x}\n", 2, "needs exactly one of"),
        ("routes:\n  - receiver: nowhere\n", 2, "route to unknown receiver \"nowhere\""),
        ("rules: [\n", 2, "not valid YAML"),
        ("rules:\n  - kind: agent_failing\n    failure_ratio: 2\n", 3, "between 0 and 1"),
    ])
    func badConfigsNameTheLineAndReason(yaml: String, line: Int, message: String) {
        #expect {
            _ = try AlertingConfig(yaml: yaml)
        } throws: { error in
            guard let error = error as? ConfigError else { return false }
            return error.line == line && error.message.contains(message)
        }
    }
}
