import Tracking

/// One alerting rule from the config: what to watch, thresholds, how long to wait, what to label.
public struct AlertRule: Sendable {
    /// The built-in conditions (SPEC section 6).
    public enum Kind: String, Sendable, CaseIterable {
        case agentStalled = "agent_stalled"
        case agentLost = "agent_lost"
        case agentFailing = "agent_failing"
        case jobStalled = "job_stalled"
        case jobBehindSchedule = "job_behind_schedule"
        case agentSlow = "agent_slow"

        public var isAgentRule: Bool {
            self == .agentStalled || self == .agentLost || self == .agentFailing || self == .agentSlow
        }
    }

    /// The `alertname` label.
    public var name: String
    public var kind: Kind
    /// Stalled/lost: quiet this long (strictly longer fires); job_stalled: the window. With
    /// `autoAfter`, the threshold before the job has finished any item.
    public var after: Double = 300
    /// Stalled/lost `after: auto`: the threshold follows the job's own item durations.
    public var autoAfter: AutoAfter?
    /// Pending this long before firing; 0 fires at once.
    public var forDuration: Double = 0
    /// A firing alert whose condition stopped holding stays firing this long, and resolves only if
    /// the condition has not come back meanwhile (Prometheus's `keep_firing_for`): one evaluation
    /// dipping under a threshold does not page twice.
    public var keepFiringFor: Double = 0
    public var severity = "warning"
    /// Full-match pattern on the job id; nil matches every job.
    public var jobs: IDPattern?
    public var labels: [String: String] = [:]
    public var annotations: [String: String] = [:]
    public var enabled = true
    /// agent_failing: fire at this many failed attempts in a row (0 disables this condition).
    public var consecutiveFailures = 3
    /// agent_failing: or when failed / attempts in `window` is above this (with at least `minAttempts`).
    public var failureRatio = 0.5
    public var minAttempts = 4
    public var window: Double = 600
    /// job_behind_schedule: a deadline for every matching job that gives none of its own.
    public var deadline: Double?
    /// agent_slow: an item running longer than `factor` times the job's median item duration, or an
    /// agent finishing items `factor` times slower than its peers' median and in their slowest
    /// `quantile` (0 switches the rate condition off); judged once the job finished `minItems` items.
    public var factor = 3.0
    public var quantile = 0.1
    public var minItems = 20

    /// `after: auto` = max(`floor`, `factor` x the p99 of the job's recent item durations).
    public struct AutoAfter: Sendable, Equatable {
        public var floor: Double = 30
        public var factor: Double = 3
        public init() {}

        /// The threshold for a job whose recent items' p99 duration is `p99`; `fallback` before any.
        public func threshold(p99: Double?, fallback: Double) -> Double {
            guard let p99 else { return fallback }
            return max(floor, factor * p99)
        }
    }

    /// The threshold of a stalled/lost rule for a job whose recent items' p99 duration is `p99`.
    public func effectiveAfter(p99: Double?) -> Double {
        autoAfter?.threshold(p99: p99, fallback: after) ?? after
    }

    public init(name: String, kind: Kind) {
        self.name = name
        self.kind = kind
    }

    /// The six rules that run without a config file, with the SPEC's defaults.
    public static let defaults: [AlertRule] = {
        var stalled = AlertRule(name: "AgentStalled", kind: .agentStalled)
        stalled.after = 300
        stalled.autoAfter = AutoAfter()
        stalled.forDuration = 15
        stalled.severity = "warning"
        var lost = AlertRule(name: "AgentLost", kind: .agentLost)
        lost.after = 300
        lost.autoAfter = AutoAfter()
        lost.severity = "critical"
        var failing = AlertRule(name: "AgentFailing", kind: .agentFailing)
        failing.forDuration = 60
        failing.keepFiringFor = 60
        failing.severity = "warning"
        var jobStalled = AlertRule(name: "JobStalled", kind: .jobStalled)
        jobStalled.after = 600
        jobStalled.forDuration = 120
        jobStalled.severity = "critical"
        var behind = AlertRule(name: "JobBehindSchedule", kind: .jobBehindSchedule)
        behind.forDuration = 300
        behind.severity = "warning"
        var slow = AlertRule(name: "AgentSlow", kind: .agentSlow)
        slow.forDuration = 60
        slow.keepFiringFor = 60
        slow.severity = "info"
        return [stalled, lost, failing, jobStalled, behind, slow]
    }()
}
