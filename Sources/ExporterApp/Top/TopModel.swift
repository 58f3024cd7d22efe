import Foundation
import Tracking

/// What `top` asks of a job: the API's own `JobSummary`, read from the stream or `/api/v1/jobs`.
extension JobSummary {
    public var runningAgents: Int { agents["running"] ?? 0 }

    /// Completed, failed or cancelled.
    public var hasEnded: Bool { status == "completed" || status == "failed" || status == "cancelled" }

    /// When an ended job ended: its last item's end (the API's completion time), else its last event.
    public var endTime: Double? { hasEnded ? (estimatedCompletion ?? lastEventTime) : nil }

    /// The ETC has no upper end: the job waits on a stalled item.
    public var isOpenAbove: Bool { etaSeconds != nil && etaUpperSeconds == nil }
}

public struct TopAgent: Decodable, Sendable, Equatable {
    public var agent: String
    public var state: String
    public var item: String?
    public var progressRatio: Double?
    public var etaSeconds: Double?
    public var failed: Double
    public var consecutiveFailures: Double
    public var lastSeen: Double?
    public var lastProgress: Double?

    enum CodingKeys: String, CodingKey {
        case agent, state, item, failed
        case progressRatio = "progress_ratio"
        case etaSeconds = "eta_seconds"
        case consecutiveFailures = "consecutive_failures"
        case lastSeen = "last_seen_timestamp"
        case lastProgress = "last_progress_timestamp"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        agent = try c.decode(String.self, forKey: .agent)
        state = try c.decodeIfPresent(String.self, forKey: .state) ?? "unknown"
        item = try c.decodeIfPresent(String.self, forKey: .item)
        progressRatio = try c.decodeIfPresent(Double.self, forKey: .progressRatio)
        etaSeconds = try c.decodeIfPresent(Double.self, forKey: .etaSeconds)
        failed = try c.decodeIfPresent(Double.self, forKey: .failed) ?? 0
        consecutiveFailures = try c.decodeIfPresent(Double.self, forKey: .consecutiveFailures) ?? 0
        lastSeen = try c.decodeIfPresent(Double.self, forKey: .lastSeen)
        lastProgress = try c.decodeIfPresent(Double.self, forKey: .lastProgress)
    }

    /// Running without progress for 5 minutes (as the live page marks it).
    public func isStalled(now: Double) -> Bool {
        guard state == "running", let last = lastProgress ?? lastSeen else { return false }
        return now - last > 300
    }

    /// Three failures in a row (as the live page marks it).
    public var isFailing: Bool { consecutiveFailures >= 3 }
}

/// The view's state, fed with the stream's events.
public struct TopState: Sendable {
    public var jobs: [String: JobSummary] = [:]
    /// The job whose agents are held, and its agents.
    public var agentJob: String?
    public var agents: [String: TopAgent] = [:]
    public var connected = false
    public var message: String?

    public init() {}

    /// Jobs changed by the last `jobs` events applied (for plain output); cleared by the caller.
    public var changedJobs: [String] = []

    private struct JobsEvent: Decodable { var jobs: [JobSummary]; var removed: [String]? }
    private struct AgentsEvent: Decodable { var job: String; var agents: [TopAgent] }
    private struct Hello: Decodable { var reset: Bool?; var job: String? }

    /// Applies one SSE event; false when its data could not be read.
    @discardableResult
    public mutating func apply(event: String, data: Data) -> Bool {
        let decoder = JSONDecoder()
        switch event {
        case "hello":
            guard let hello = try? decoder.decode(Hello.self, from: data) else { return false }
            if hello.reset ?? true {
                jobs = [:]
                agents = [:]
            }
            if agentJob != hello.job { agents = [:] }
            agentJob = hello.job
            connected = true
            message = nil
        case "jobs":
            guard let event = try? decoder.decode(JobsEvent.self, from: data) else { return false }
            applyJobs(event.jobs, removed: event.removed ?? [])
        case "agents":
            guard let event = try? decoder.decode(AgentsEvent.self, from: data) else { return false }
            guard event.job == agentJob else { return true }
            for agent in event.agents { agents[agent.agent] = agent }
        default:
            break
        }
        return true
    }

    public mutating func applyJobs(_ list: [JobSummary], removed: [String] = []) {
        for job in list {
            jobs[job.job] = job
            changedJobs.append(job.job)
        }
        for name in removed { jobs[name] = nil }
    }

    /// The job with the most running agents (ties: by name), for when no job was named.
    public var busiestJob: String? {
        jobs.values.max { a, b in
            a.runningAgents != b.runningAgents ? a.runningAgents < b.runningAgents : a.job > b.job
        }?.job
    }
}
