import Events
import Tracking

/// Turns the store's state at `now` into the conditions that hold: a pure function of (state, rules, now).
public struct RuleEvaluator: Sendable {
    public let rules: [AlertRule]

    public init(rules: [AlertRule]) { self.rules = rules }

    /// The rule that applies to `job` for each alertname: a rule naming jobs that match overrides one
    /// that names none; among equals the first in the file wins. A disabled winner silences the alert.
    func rules(for job: String) -> [AlertRule] {
        var chosen: [String: AlertRule] = [:]
        var order: [String] = []
        for rule in rules {
            guard rule.jobs.map({ $0.matches(job) }) ?? true else { continue }
            if let current = chosen[rule.name] {
                if current.jobs == nil && rule.jobs != nil { chosen[rule.name] = rule }
            } else {
                chosen[rule.name] = rule
                order.append(rule.name)
            }
        }
        return order.compactMap { chosen[$0] }.filter(\.enabled)
    }

    /// The conditions that hold for one job and its agents at `now`.
    public func evaluate(job: JobView, now: Double) -> [AlertCondition] {
        var skip: AgentVisit?
        return evaluate(job: job, now: now, lastVisit: &skip)
    }

    /// When a job's agents were last visited and when, at the earliest, a rule could start to hold
    /// for one of them without an event: until then, a job with no new event and no holding agent
    /// condition is not visited again. This is what keeps idle agents free (a million of them cost
    /// a visit per job, not per agent, each second).
    public struct AgentVisit: Sendable {
        /// The job's `changedAt` at the visit.
        var sequence: UInt64
        /// No agent condition can start before this, unless an event changes the job.
        var nextCheck: Double
    }

    /// Longest time a job's agents go unvisited: rules that follow rolling windows (failure
    /// ratios, peers' rates) can change with time alone, and are seen within this.
    static let maximumVisitGap: Double = 30

    /// As `evaluate(job:now:)`, skipping the agents when `lastVisit` says nothing can have changed
    /// for them; updates `lastVisit`.
    public func evaluate(job: JobView, now: Double, lastVisit: inout AgentVisit?) -> [AlertCondition] {
        // Agents of ended or paused jobs raise nothing, so their open alerts resolve.
        guard job.status == .running else {
            lastVisit = nil
            return []
        }
        var out: [AlertCondition] = []
        let applicable = rules(for: job.id)
        for rule in applicable where !rule.kind.isAgentRule {
            if let condition = evaluate(rule, job: job, now: now) { out.append(condition) }
        }
        let agentRules = applicable.filter(\.kind.isAgentRule)
        guard !agentRules.isEmpty else { return out }
        if let visit = lastVisit, job.changedAt <= visit.sequence, now < visit.nextCheck { return out }
        let peers = agentRules.contains { $0.kind == .agentSlow } ? PeerSpeeds(job: job, now: now) : nil
        let before = out.count
        var nextCheck = now + Self.maximumVisitGap
        for agent in job.agents {
            for rule in agentRules {
                if let condition = evaluate(rule, job: job, agent: agent, peers: peers, now: now) {
                    out.append(condition)
                } else if let deadline = deadline(of: rule, agent: agent, peers: peers) {
                    nextCheck = min(nextCheck, deadline)
                }
            }
        }
        // A holding condition's value moves with time, and it must resolve on time: visit again.
        if out.count > before { nextCheck = now }
        lastVisit = AgentVisit(sequence: job.changedAt, nextCheck: nextCheck)
        return out
    }

    /// The earliest time `rule` could start to hold for `agent` without a new event; nil when only
    /// an event (or the window gap) can make it hold.
    private func deadline(of rule: AlertRule, agent: AgentView, peers: PeerSpeeds?) -> Double? {
        switch rule.kind {
        case .agentStalled:
            return agent.state == .running ? agent.lastProgress + rule.after : nil
        case .agentLost:
            return agent.state.isFinal ? nil : agent.lastSeen + rule.after
        case .agentSlow:
            guard agent.state == .running, let start = agent.currentItemStart, let median = peers?.medianDuration, median > 0 else { return nil }
            return start + rule.factor * median
        case .agentFailing, .jobStalled, .jobBehindSchedule:
            return nil
        }
    }

    /// What agent_slow compares an agent with: the job's median item duration and its running agents'
    /// rates (agents running for a whole rate window), computed once per job and evaluation.
    struct PeerSpeeds {
        let medianDuration: Double?
        let durationCount: Int
        /// Rates of the agents that have run for a whole window, ascending.
        let rates: [Double]

        init(job: JobView, now: Double) {
            (medianDuration, durationCount) = job.recentItemDurations
            rates = job.agents
                .filter { $0.state == .running && now - $0.firstSeen >= AgentView.throughputWindow }
                .map(\.throughput).sorted()
        }

        func rate(atQuantile q: Double) -> Double? {
            rates.isEmpty ? nil : rates[min(rates.count - 1, Int(Double(rates.count - 1) * q))]
        }
    }

    private func slow(_ rule: AlertRule, job: JobView, agent: AgentView, peers: PeerSpeeds?, now: Double) -> AlertCondition? {
        guard agent.state == .running, let peers, peers.durationCount >= rule.minItems else { return nil }
        if let median = peers.medianDuration, median > 0, let age = agent.currentItemAge, age > rule.factor * median {
            return condition(rule, job: job.id, agent: agent.id, value: age / median, values: [
                "value": "its item has run \(DurationText.short(age)), \(String(format: "%.1f", age / median))x the median \(DurationText.short(median))",
                "threshold": "\(rule.factor)x the median item duration",
            ])
        }
        guard rule.quantile > 0, now - agent.firstSeen >= AgentView.throughputWindow, peers.rates.count >= 4,
              let cutoff = peers.rate(atQuantile: rule.quantile), let median = peers.rate(atQuantile: 0.5), median > 0
        else { return nil }
        let rate = agent.throughput
        guard rate <= cutoff, rate * rule.factor < median else { return nil }
        // How many times slower; an agent that finished nothing counts as one item in the window.
        let times = median / max(rate, 1 / AgentView.throughputWindow)
        return condition(rule, job: job.id, agent: agent.id, value: times, values: [
            "value": rate > 0 ? "it finishes items \(String(format: "%.1f", times))x slower than its peers' median" : "it finished no item in 5m while its peers did",
            "threshold": "\(rule.factor)x slower than the median and in the slowest \(Int(rule.quantile * 100)) %",
        ])
    }

    private func evaluate(_ rule: AlertRule, job: JobView, agent: AgentView, peers: PeerSpeeds?, now: Double) -> AlertCondition? {
        switch rule.kind {
        case .agentSlow:
            return slow(rule, job: job, agent: agent, peers: peers, now: now)
        case .agentStalled:
            let quiet = now - agent.lastProgress
            guard agent.state == .running, quiet > rule.after else { return nil }
            return condition(rule, job: job.id, agent: agent.id, value: quiet,
                             values: ["value": DurationText.short(quiet), "threshold": DurationText.short(rule.after)])
        case .agentLost:
            let silent = now - agent.lastSeen
            guard !agent.state.isFinal, silent > rule.after else { return nil }
            return condition(rule, job: job.id, agent: agent.id, value: silent,
                             values: ["value": DurationText.short(silent), "threshold": DurationText.short(rule.after)])
        case .agentFailing:
            guard !agent.state.isFinal else { return nil }
            let consecutive = Int(agent.consecutiveFailures)
            if rule.consecutiveFailures > 0, consecutive >= rule.consecutiveFailures {
                return condition(rule, job: job.id, agent: agent.id, value: Double(consecutive),
                                 values: ["value": "\(consecutive) failures in a row", "threshold": "\(rule.consecutiveFailures)"])
            }
            let attempts = agent.attempts(inLast: rule.window)
            let total = attempts.completed + attempts.failed
            guard total >= UInt64(rule.minAttempts), total > 0 else { return nil }
            let ratio = Double(attempts.failed) / Double(total)
            guard ratio > rule.failureRatio else { return nil }
            return condition(rule, job: job.id, agent: agent.id, value: ratio,
                             values: ["value": "\(attempts.failed) of \(total) attempts failed", "threshold": "\(rule.failureRatio)"])
        case .jobStalled, .jobBehindSchedule:
            return nil
        }
    }

    private func evaluate(_ rule: AlertRule, job: JobView, now: Double) -> AlertCondition? {
        switch rule.kind {
        case .jobStalled:
            guard let remaining = job.remaining, remaining > 0, now - job.since >= rule.after,
                  job.finished(inLast: rule.after) == 0 else { return nil }
            return condition(rule, job: job.id, agent: nil, value: Double(remaining),
                             values: ["value": "\(remaining) items remain", "threshold": DurationText.short(rule.after)])
        case .jobBehindSchedule:
            guard let deadline = job.deadline ?? rule.deadline, let eta = job.etaSeconds, now + eta > deadline else { return nil }
            let late = now + eta - deadline
            return condition(rule, job: job.id, agent: nil, value: late,
                             values: ["value": DurationText.short(late) + " late", "threshold": "deadline"])
        case .agentStalled, .agentLost, .agentFailing, .agentSlow:
            return nil
        }
    }

    private func condition(_ rule: AlertRule, job: String, agent: String?, value: Double, values: [String: String]) -> AlertCondition {
        var labels = rule.labels
        labels["alertname"] = rule.name
        labels["severity"] = rule.severity
        labels[AlertLabels.job] = job
        if let agent { labels[AlertLabels.agent] = agent }
        let templates = rule.annotations.isEmpty ? Self.defaultAnnotations(rule.kind) : rule.annotations
        return AlertCondition(labels: labels, templates: templates, templateValues: values, value: value, forDuration: rule.forDuration)
    }

    static func defaultAnnotations(_ kind: AlertRule.Kind) -> [String: String] {
        switch kind {
        case .agentStalled:
            return ["summary": "{{agent}} of {{job}} made no progress for {{value}}",
                    "description": "The agent is running and alive but reported no progress for longer than {{threshold}}."]
        case .agentLost:
            return ["summary": "{{agent}} of {{job}} sent nothing for {{value}}",
                    "description": "No event at all, not even a heartbeat, for longer than {{threshold}}; the agent may be dead."]
        case .agentFailing:
            return ["summary": "{{agent}} of {{job}} keeps failing: {{value}}",
                    "description": "Failures of the agent crossed the threshold ({{threshold}})."]
        case .jobStalled:
            return ["summary": "{{job}} finished no item in {{threshold}}; {{value}}",
                    "description": "Items remain but the job's throughput was zero over the window."]
        case .jobBehindSchedule:
            return ["summary": "{{job}} will finish {{value}}",
                    "description": "The estimated completion time is past the job's deadline."]
        case .agentSlow:
            return ["summary": "{{agent}} of {{job}} is slow: {{value}}",
                    "description": "The agent is far slower than the job's other agents ({{threshold}}); it may hold the job's end back."]
        }
    }
}
