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
    /// for them; updates `lastVisit`. The whole job in one hold: `ProgressStore.forEachJob(visitor:)`
    /// with a `JobEvaluation` visits the agents a chunk at a time.
    public func evaluate(job: JobView, now: Double, lastVisit: inout AgentVisit?) -> [AlertCondition] {
        var evaluation = JobEvaluation(self, lastVisit: lastVisit)
        if evaluation.begin(job) {
            for agent in job.agents { evaluation.visit(agent) }
        }
        evaluation.end()
        lastVisit = evaluation.nextVisit
        return evaluation.conditions
    }

    /// A rule with what its conditions on one job share, made once per job visit. A class: looking
    /// at a rule for each agent then retains one reference, where copying the struct retained each
    /// of the rule's strings and dictionaries (a tenth of the exporter's CPU while evaluating 1M agents).
    fileprivate final class Prepared: Sendable {
        let rule: AlertRule
        let labels: [String: String]
        let templates: [String: String]
        /// Stalled/lost: the quiet time that fires for this job (`after`, or what `after: auto` makes of it).
        let after: Double

        init(rule: AlertRule, labels: [String: String], templates: [String: String], after: Double? = nil) {
            self.rule = rule
            self.labels = labels
            self.templates = templates
            self.after = after ?? rule.after
        }
    }

    /// One evaluation of one job: its job conditions at `begin`, its agents' as they are visited,
    /// and at `end` the agent_slow rate conditions, which need every peer's rate.
    ///
    /// Visited in chunks (`ProgressStore.forEachJob(visitor:)`), the agents of a job are read at
    /// slightly different batches: each chunk as of the batch before its hold. That is right for
    /// these rules because an agent's condition depends only on that agent's own state and on
    /// job-level aggregates: the median item duration and its count, read once at `begin`, and the
    /// peers' rates, gathered as the agents are visited and sorted once at `end`, where the agents
    /// that could be slower than their peers are judged with the rate each one had when visited.
    /// Each agent's verdict is the one a one-hold evaluation at its chunk's batch would give with
    /// those aggregates. The aggregates may be a few batches apart from an agent: the median of
    /// the last 1,024 durations and the quantiles of 5-minute rates barely move in milliseconds, and
    /// rate-based agent_slow already accepts being seen up to `maximumVisitGap` late. Agents that
    /// register during the visit are judged at the next evaluation, which visits the job again
    /// since its `changedAt` moved past the visit's `sequence` (read at `begin`). Deadlines (stalled,
    /// lost, an item's age) are checked against each agent's own newest state, so alerts still fire
    /// at their threshold plus at most one evaluation interval.
    public struct JobEvaluation: JobVisitor {
        let evaluator: RuleEvaluator
        let lastVisit: AgentVisit?
        /// The conditions found: the job's, then its agents' in registration order, then (after
        /// `end`) the agent_slow rate conditions.
        public private(set) var conditions: [AlertCondition] = []
        /// The visit to remember after this evaluation (nil: forget the job's).
        public private(set) var nextVisit: AgentVisit?

        private var now = 0.0
        private var agentRules: [Prepared] = []
        private var visitsAgents = false
        private var sequence: UInt64 = 0
        private var nextCheck = 0.0
        private var agentConditions = 0
        /// Every planned item is finished: agents holding no item have nothing to be late with.
        private var noWorkLeft = false
        /// The job's median item duration; the peers' rates are added at `end`.
        private var peers: PeerSpeeds?
        /// Whether the peers' rates are gathered (some agent_slow rule can judge rates).
        private var gathersRates = false
        private var rates: [Double] = []
        /// Agents an agent_slow rule judges by rate at `end`: the rule's index, the agent, its rate.
        private var rateCandidates: [(rule: Int, agent: String, rate: Double)] = []

        public init(_ evaluator: RuleEvaluator, lastVisit: AgentVisit?) {
            self.evaluator = evaluator
            self.lastVisit = lastVisit
            nextVisit = lastVisit
        }

        public mutating func begin(_ job: JobView) -> Bool {
            now = job.now
            // Agents of ended or paused jobs raise nothing, so their open alerts resolve. Nor does
            // a job whose newest event is older than --jobs.silent-retention: it is history read
            // late, and the next upkeep forgets it (an alert now would resolve a moment later).
            guard job.status == .running, !job.isHistory else {
                nextVisit = nil
                return false
            }
            let applicable = evaluator.rules(for: job.id)
            for rule in applicable where !rule.kind.isAgentRule {
                if let condition = RuleEvaluator.evaluate(rule, job: job, now: now) { conditions.append(condition) }
            }
            // The rules are prepared only for a visit: most evaluations skip an unchanged job.
            guard applicable.contains(where: \.kind.isAgentRule) else { return false }
            if let visit = lastVisit, job.changedAt <= visit.sequence, now < visit.nextCheck { return false }
            let p99 = applicable.contains { $0.autoAfter != nil } ? job.recentItemDuration(quantile: 0.99) : nil
            agentRules = applicable.filter(\.kind.isAgentRule).map { rule in
                Prepared(rule: rule, labels: RuleEvaluator.labels(of: rule, job: job.id),
                         templates: rule.annotations.isEmpty ? RuleEvaluator.defaultAnnotations(rule.kind) : rule.annotations,
                         after: rule.effectiveAfter(p99: p99))
            }
            noWorkLeft = job.allItemsFinished
            visitsAgents = true
            sequence = job.changedAt
            nextCheck = now + RuleEvaluator.maximumVisitGap
            let slowRules = agentRules.map(\.rule).filter { $0.kind == .agentSlow }
            if !slowRules.isEmpty {
                let (median, count) = job.recentItemDurations
                peers = PeerSpeeds(medianDuration: median, durationCount: count, rates: [])
                // The rates matter only to a rate condition that can be judged at all.
                gathersRates = slowRules.contains { $0.quantile > 0 && count >= $0.minItems }
            }
            return true
        }

        public mutating func visit(_ agent: AgentView) {
            // An agent about to be forgotten by --agents.retention, or idle in a job with nothing
            // left to do, is neither late nor failing: it raises nothing (and needs no deadline).
            if agent.isHistory || (noWorkLeft && agent.currentItemStart == nil) { return }
            // A peer: running for a whole rate window.
            var rate: Double?
            if gathersRates && agent.state == .running && now - agent.firstSeen >= AgentView.throughputWindow {
                rate = agent.throughput
                rates.append(rate!)
            }
            for (index, prepared) in agentRules.enumerated() {
                let condition: AlertCondition?
                if prepared.rule.kind == .agentSlow {
                    condition = RuleEvaluator.slowItem(prepared, agent: agent, peers: peers)
                    if condition == nil, let rate, prepared.rule.quantile > 0, let peers, peers.durationCount >= prepared.rule.minItems {
                        rateCandidates.append((index, agent.id, rate))
                    }
                } else {
                    condition = RuleEvaluator.evaluate(prepared, agent: agent, now: now)
                }
                if let condition {
                    conditions.append(condition)
                    agentConditions += 1
                } else if let deadline = RuleEvaluator.deadline(of: prepared, agent: agent, peers: peers) {
                    nextCheck = min(nextCheck, deadline)
                }
            }
        }

        public mutating func end() {
            guard visitsAgents else { return }
            if gathersRates, let known = peers {
                rates.sort()
                let peers = PeerSpeeds(medianDuration: known.medianDuration, durationCount: known.durationCount, rates: rates)
                for candidate in rateCandidates {
                    if let condition = RuleEvaluator.slowRate(agentRules[candidate.rule], agent: candidate.agent, rate: candidate.rate, peers: peers) {
                        conditions.append(condition)
                        agentConditions += 1
                    }
                }
                rates = []
                rateCandidates = []
            }
            // A holding condition's value moves with time, and it must resolve on time: visit again.
            if agentConditions > 0 { nextCheck = now }
            nextVisit = AgentVisit(sequence: sequence, nextCheck: nextCheck)
        }
    }

    /// The earliest time `rule` could start to hold for `agent` without a new event; nil when only
    /// an event (or the window gap) can make it hold.
    private static func deadline(of prepared: Prepared, agent: AgentView, peers: PeerSpeeds?) -> Double? {
        let rule = prepared.rule
        switch rule.kind {
        case .agentStalled:
            return agent.state == .running ? agent.lastProgress + prepared.after : nil
        case .agentLost:
            return agent.state.isFinal ? nil : agent.lastSeen + prepared.after
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

        func rate(atQuantile q: Double) -> Double? {
            rates.isEmpty ? nil : rates[min(rates.count - 1, Int(Double(rates.count - 1) * q))]
        }
    }

    /// agent_slow's first condition: an item running longer than `factor` times the median.
    private static func slowItem(_ prepared: Prepared, agent: AgentView, peers: PeerSpeeds?) -> AlertCondition? {
        let rule = prepared.rule
        guard agent.state == .running, let peers, peers.durationCount >= rule.minItems,
              let median = peers.medianDuration, median > 0, let age = agent.currentItemAge, age > rule.factor * median
        else { return nil }
        return condition(prepared, agent: agent.id, value: age / median,
                         values: AnnotationValues(value: .itemAge(age: age, median: median), threshold: .medianFactor(rule.factor)))
    }

    /// agent_slow's second condition, for a running agent with a whole rate window whose item is
    /// not too old: finishing items `factor` times slower than the peers' median and in their
    /// slowest `quantile`.
    private static func slowRate(_ prepared: Prepared, agent: String, rate: Double, peers: PeerSpeeds) -> AlertCondition? {
        let rule = prepared.rule
        guard rule.quantile > 0, peers.rates.count >= 4,
              let cutoff = peers.rate(atQuantile: rule.quantile), let median = peers.rate(atQuantile: 0.5), median > 0
        else { return nil }
        guard rate <= cutoff, rate * rule.factor < median else { return nil }
        // How many times slower; an agent that finished nothing counts as one item in the window.
        let times = median / max(rate, 1 / AgentView.throughputWindow)
        return condition(prepared, agent: agent, value: times, values: AnnotationValues(
            value: .slowerThanPeers(times: times, finishedAny: rate > 0),
            threshold: .slowestQuantile(factor: rule.factor, quantile: rule.quantile)))
    }

    /// Agent rules but agent_slow (`slowItem`, `slowRate`).
    private static func evaluate(_ prepared: Prepared, agent: AgentView, now: Double) -> AlertCondition? {
        let rule = prepared.rule
        switch rule.kind {
        case .agentStalled:
            let quiet = now - agent.lastProgress
            guard agent.state == .running, quiet > prepared.after else { return nil }
            return condition(prepared, agent: agent.id, value: quiet,
                             values: AnnotationValues(value: .duration(quiet), threshold: .duration(prepared.after)))
        case .agentLost:
            let silent = now - agent.lastSeen
            guard !agent.state.isFinal, silent > prepared.after else { return nil }
            return condition(prepared, agent: agent.id, value: silent,
                             values: AnnotationValues(value: .duration(silent), threshold: .duration(prepared.after)))
        case .agentFailing:
            guard !agent.state.isFinal else { return nil }
            let consecutive = Int(agent.consecutiveFailures)
            if rule.consecutiveFailures > 0, consecutive >= rule.consecutiveFailures {
                return condition(prepared, agent: agent.id, value: Double(consecutive),
                                 values: AnnotationValues(value: .failuresInARow(consecutive), threshold: .integer(rule.consecutiveFailures)))
            }
            let attempts = agent.attempts(inLast: rule.window)
            let total = attempts.completed + attempts.failed
            guard total >= UInt64(rule.minAttempts), total > 0 else { return nil }
            let ratio = Double(attempts.failed) / Double(total)
            guard ratio > rule.failureRatio else { return nil }
            return condition(prepared, agent: agent.id, value: ratio,
                             values: AnnotationValues(value: .failedOf(failed: attempts.failed, total: total), threshold: .number(rule.failureRatio)))
        case .agentSlow, .jobStalled, .jobBehindSchedule:
            return nil
        }
    }

    private static func evaluate(_ rule: AlertRule, job: JobView, now: Double) -> AlertCondition? {
        // Made only for a condition that holds: most evaluations of most jobs find none.
        func prepared() -> Prepared {
            Prepared(rule: rule, labels: labels(of: rule, job: job.id),
                     templates: rule.annotations.isEmpty ? defaultAnnotations(rule.kind) : rule.annotations)
        }
        switch rule.kind {
        case .jobStalled:
            guard let remaining = job.remaining, remaining > 0, now - job.since >= rule.after,
                  job.finished(inLast: rule.after) == 0 else { return nil }
            return condition(prepared(), agent: nil, value: Double(remaining),
                             values: AnnotationValues(value: .itemsRemain(remaining), threshold: .duration(rule.after)))
        case .jobBehindSchedule:
            guard let deadline = job.deadline ?? rule.deadline, let eta = job.etaSeconds, now + eta > deadline else { return nil }
            let late = now + eta - deadline
            return condition(prepared(), agent: nil, value: late,
                             values: AnnotationValues(value: .late(late), threshold: .literal("deadline")))
        case .agentStalled, .agentLost, .agentFailing, .agentSlow:
            return nil
        }
    }

    /// The labels every condition of `rule` on `job` has; an agent's add `agent`.
    private static func labels(of rule: AlertRule, job: String) -> [String: String] {
        var labels = rule.labels
        // Room for `agent`, so each agent's copy takes it without growing.
        labels.reserveCapacity(labels.count + 4)
        labels["alertname"] = rule.name
        labels["severity"] = rule.severity
        labels[AlertLabels.job] = job
        return labels
    }

    private static func condition(_ prepared: Prepared, agent: String?, value: Double, values: AnnotationValues) -> AlertCondition {
        var labels = prepared.labels
        if let agent { labels[AlertLabels.agent] = agent }
        return AlertCondition(labels: labels, templates: prepared.templates, templateValues: values, value: value,
                              forDuration: prepared.rule.forDuration, keepFiringFor: prepared.rule.keepFiringFor)
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
