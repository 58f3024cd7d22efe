/// Limits and time constants of the live state; every one is a flag of the exporter.
public struct StoreOptions: Sendable {
    /// Agents whose own series are exported; the rest count in job aggregates only.
    public var maxAgentSeries: Int = 1000
    /// Agents whose id matches one of these always keep their own series (`--agents.keep`).
    public var alwaysKeepAgents: [IDPattern] = []
    /// Jobs whose agents get their own, smaller series budget within the global one (`--agents.job-max-series`).
    public var jobMaxAgentSeries: [(jobs: IDPattern, limit: Int)] = []
    /// Agents tracked at all; events of agents past it count for their job but register no agent.
    public var maxTrackedAgents: Int = 1_000_000
    /// How long an ended job's series stay after it ended.
    public var jobRetention: Double = 3600
    /// Jobs tracked at all; events of further jobs are counted and dropped (`--jobs.max-tracked`).
    public var maxTrackedJobs: Int = 2_000
    /// A job of any status with no event for this long is forgotten (`--jobs.silent-retention`).
    public var silentJobRetention: Double = 86_400
    /// How long an agent stays after its last event.
    public var agentRetention: Double = 3600
    /// An event time further than this in the future is taken as its arrival time.
    public var maxFutureSkew: Double = 5
    /// Repeated event ids within this many seconds are ignored.
    public var dedupWindow: Double = 600
    /// At most this many event ids are remembered for de-duplication.
    public var maxDedupIds: Int = 1_000_000
    /// At most this many bytes of event ids (plus 64 each) are remembered (`--events.dedup-max-bytes`).
    public var maxDedupBytes: Int = 128 << 20

    /// Failure reasons of a job with a series of their own in /metrics; the rest count as `other` (`--jobs.failure-reasons`).
    public var failureReasons: Int = 5

    public init() {}
}
