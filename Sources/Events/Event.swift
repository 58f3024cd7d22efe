/// One tracker event in the exporter's native model (SPEC section 2), whatever format it came in.
public struct Event: Sendable, Equatable {
    /// What happened; the native `type` strings are the raw values.
    public enum Kind: String, Sendable, CaseIterable {
        case jobStarted = "job_started"
        case jobItemsAdded = "job_items_added"
        case jobCompleted = "job_completed"
        case jobFailed = "job_failed"
        case jobCancelled = "job_cancelled"
        case agentStarted = "agent_started"
        case agentProgress = "agent_progress"
        case agentHeartbeat = "agent_heartbeat"
        case agentState = "agent_state"
        case itemCompleted = "item_completed"
        case itemFailed = "item_failed"
        case agentRetrying = "agent_retrying"
        case itemDeadLettered = "item_dead_lettered"
        /// Not a native type: prodigy's `job_paused` / `job_resumed`.
        case jobPaused = "job_paused"
        case jobResumed = "job_resumed"

        /// The kinds a native event line may name; the others come only from foreign formats.
        public static let native: [Kind] = allCases.filter { $0 != .jobPaused && $0 != .jobResumed }
    }

    public var kind: Kind
    public var job: String
    public var agent: String?
    public var item: String?
    /// Event time in Unix seconds; nil means "at arrival".
    public var time: Double?
    /// Optional event id for de-duplication.
    public var id: String?

    public var totalItems: Int64?
    public var count: Int64?
    public var deadline: Double?
    public var error: String?
    public var step: String?
    public var stepsCompleted: Int64?
    public var totalSteps: Int64?
    /// Ratio 0...1 of the agent's current item, instead of steps.
    public var progress: Double?
    public var state: AgentState?
    public var durationSeconds: Double?
    /// The item's size in the job's unit of work (bytes, rows, tokens), on item events.
    public var work: Double?
    /// Work of the job's planned items (`job_started`) or of the items added (`job_items_added`).
    public var totalWork: Double?
    /// nil: the failure may be retried (not final).
    public var retryable: Bool?
    public var attempt: Int64?
    /// Set by foreign formats whose "agent done" also marks the agent completed (prodigy).
    public var completesAgent: Bool = false

    public init(kind: Kind, job: String, agent: String? = nil, item: String? = nil, time: Double? = nil) {
        self.kind = kind
        self.job = job
        self.agent = agent
        self.item = item
        self.time = time
    }
}

/// The lifecycle state of one agent, as the SPEC names them.
public enum AgentState: String, Sendable, CaseIterable {
    case queued, initializing, running, merging, completed, failed, retrying
    case deadLettered = "dead_lettered"

    /// Final states: the agent will do no more work.
    public var isFinal: Bool {
        switch self {
        case .completed, .failed, .deadLettered: return true
        default: return false
        }
    }
}
