import Events
import Foundation

/// A simulated set of job runners: jobs split into items, agents that take items one after another,
/// report steps, sometimes fail and retry, and a few that stall. Time is given by the caller, so the
/// same seed and the same calls give the same events.
public struct Simulation: Sendable {
    private struct Agent {
        var id: String
        var item: Int?
        var attempt = 1
        var step = 0
        var stepSeconds = 0.0
        var nextAt: Double
        var stallsAt: Double?
        var nextHeartbeat: Double
    }

    private struct Job {
        var id: String
        var generation: Int
        var nextItem = 0
        var retryQueue: [Int] = []
        var finished = 0
        var agents: [Agent]
        var endedAt: Double?
    }

    static let steps = 4
    /// What the simulated failures say (`#` is the item number).
    static let errors = ["timeout after 30s waiting for item #", "HTTP 503 from upstream", "simulated failure"]
    private let options: DemoOptions
    private var rng: SplitMix64
    private var jobs: [Job] = []
    private var started = false

    public init(options: DemoOptions) {
        self.options = options
        rng = SplitMix64(seed: options.seed)
    }

    private static let names = ["etl-nightly", "review-batch", "image-gen", "embeddings", "crawl", "transcode"]

    /// Every event due up to `now`, in time order.
    public mutating func advance(to now: Double) -> [Event] {
        var out: [Event] = []
        if !started {
            started = true
            for index in 0..<options.jobs { startJob(index, generation: 1, at: now, into: &out) }
        }
        for index in jobs.indices { step(job: index, now: now, into: &out) }
        out.sort { ($0.time ?? 0) < ($1.time ?? 0) }
        return out
    }

    private mutating func startJob(_ index: Int, generation: Int, at now: Double, into out: inout [Event]) {
        let base = Self.names[index % Self.names.count]
        let suffix = index >= Self.names.count ? "-\(index / Self.names.count + 1)" : ""
        let id = "\(base)\(suffix)-run\(generation)"
        var agents: [Agent] = []
        for a in 0..<options.agentsPerJob {
            let stalls = a < options.stallingAgentsPerJob ? now + options.stallAfterSeconds : nil
            agents.append(Agent(id: "agent-\(String(format: "%03d", a))", nextAt: now + Double.random(in: 0..<1, using: &rng), stallsAt: stalls, nextHeartbeat: now + 5))
        }
        let job = Job(id: id, generation: generation, agents: agents)
        if index < jobs.count { jobs[index] = job } else { jobs.append(job) }
        var e = Event(kind: .jobStarted, job: id, time: now)
        e.totalItems = Int64(options.itemsPerJob)
        out.append(e)
    }

    private mutating func step(job index: Int, now: Double, into out: inout [Event]) {
        if let ended = jobs[index].endedAt {
            // A finished job is followed by the next run of the same job a little later.
            if now - ended > 30 { startJob(index, generation: jobs[index].generation + 1, at: now, into: &out) }
            return
        }
        for a in jobs[index].agents.indices {
            while jobs[index].endedAt == nil, jobs[index].agents[a].nextAt <= now {
                act(job: index, agent: a, into: &out)
            }
            heartbeat(job: index, agent: a, now: now, into: &out)
        }
        if jobs[index].endedAt == nil, jobs[index].finished >= options.itemsPerJob {
            jobs[index].endedAt = now
            out.append(Event(kind: .jobCompleted, job: jobs[index].id, time: now))
        }
    }

    private mutating func heartbeat(job index: Int, agent a: Int, now: Double, into out: inout [Event]) {
        while jobs[index].agents[a].nextHeartbeat <= now {
            let at = jobs[index].agents[a].nextHeartbeat
            out.append(Event(kind: .agentHeartbeat, job: jobs[index].id, agent: jobs[index].agents[a].id, time: at))
            jobs[index].agents[a].nextHeartbeat += 5
        }
    }

    /// One action of one agent at its scheduled time: start an item, report a step, or finish.
    private mutating func act(job index: Int, agent a: Int, into out: inout [Event]) {
        var agent = jobs[index].agents[a]
        let jobID = jobs[index].id
        let t = agent.nextAt
        if let stallsAt = agent.stallsAt, t >= stallsAt {
            // The agent goes quiet (heartbeats only) for a while, then carries on.
            agent.stallsAt = nil
            agent.nextAt = t + options.stallSeconds
            jobs[index].agents[a] = agent
            return
        }
        guard let item = agent.item else {
            guard let next = takeItem(job: index) else {
                agent.nextAt = .infinity
                out.append(stateEvent(jobID, agent.id, .completed, t))
                jobs[index].agents[a] = agent
                return
            }
            agent.item = next
            agent.step = 0
            // Durations spread log-normally around the mean, as real batch work does.
            let duration = options.meanItemSeconds * exp(0.5 * normal())
            agent.stepSeconds = duration / Double(Self.steps)
            var e = Event(kind: .agentStarted, job: jobID, agent: agent.id, item: "item-\(next)", time: t)
            e.totalSteps = Int64(Self.steps)
            out.append(e)
            agent.nextAt = t + agent.stepSeconds
            jobs[index].agents[a] = agent
            return
        }
        agent.step += 1
        if agent.step < Self.steps {
            var e = Event(kind: .agentProgress, job: jobID, agent: agent.id, item: "item-\(item)", time: t)
            e.step = "step-\(agent.step)"
            e.stepsCompleted = Int64(agent.step)
            e.totalSteps = Int64(Self.steps)
            out.append(e)
            agent.nextAt = t + agent.stepSeconds
        } else if Double.random(in: 0..<1, using: &rng) < options.failureRate {
            let final = agent.attempt >= 3 || Bool.random(using: &rng)
            var e = Event(kind: .itemFailed, job: jobID, agent: agent.id, item: "item-\(item)", time: t)
            // A few kinds of error, so the failure reasons (page, top, dashboard) have something to tell apart.
            e.error = Self.errors[item % Self.errors.count].replacingOccurrences(of: "#", with: "\(item)")
            e.retryable = !final
            out.append(e)
            if final {
                out.append(Event(kind: .itemDeadLettered, job: jobID, item: "item-\(item)", time: t))
                jobs[index].finished += 1
                agent.attempt = 1
            } else {
                var r = Event(kind: .agentRetrying, job: jobID, agent: agent.id, item: "item-\(item)", time: t)
                agent.attempt += 1
                r.attempt = Int64(agent.attempt)
                out.append(r)
                jobs[index].retryQueue.append(item)
            }
            agent.item = nil
            agent.nextAt = t + 0.2
        } else {
            var e = Event(kind: .itemCompleted, job: jobID, agent: agent.id, item: "item-\(item)", time: t)
            e.durationSeconds = agent.stepSeconds * Double(Self.steps)
            out.append(e)
            jobs[index].finished += 1
            agent.item = nil
            agent.attempt = 1
            agent.nextAt = t + 0.05
        }
        jobs[index].agents[a] = agent
    }

    private mutating func takeItem(job index: Int) -> Int? {
        if !jobs[index].retryQueue.isEmpty { return jobs[index].retryQueue.removeFirst() }
        guard jobs[index].nextItem < options.itemsPerJob else { return nil }
        defer { jobs[index].nextItem += 1 }
        return jobs[index].nextItem
    }

    private func stateEvent(_ job: String, _ agent: String, _ state: AgentState, _ t: Double) -> Event {
        var e = Event(kind: .agentState, job: job, agent: agent, time: t)
        e.state = state
        return e
    }

    /// A standard normal sample (Box-Muller).
    private mutating func normal() -> Double {
        let u1 = Double.random(in: Double.ulpOfOne..<1, using: &rng)
        let u2 = Double.random(in: 0..<1, using: &rng)
        return sqrt(-2 * log(u1)) * cos(2 * .pi * u2)
    }
}
