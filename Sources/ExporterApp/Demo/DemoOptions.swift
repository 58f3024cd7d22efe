/// Shape of the simulated workload of `serve --demo` and `simulate`.
public struct DemoOptions: Sendable {
    public var jobs = 3
    public var agentsPerJob = 25
    public var itemsPerJob = 3000
    /// Mean seconds an agent spends on one item; actual durations spread around it.
    public var meanItemSeconds = 2.0
    /// Chance that one attempt fails; half of the failures are final.
    public var failureRate = 0.05
    /// Agents per job that stop making progress (they keep sending heartbeats), so stall alerts have work.
    public var stallingAgentsPerJob = 1
    /// Seconds after its start at which a stalling agent stalls.
    public var stallAfterSeconds = 60.0
    /// How long a stalling agent stays quiet: past the default 5m stall threshold plus its 1m `for`.
    public var stallSeconds = 420.0
    public var seed: UInt64 = 42

    public init() {}

    /// The options a user sets, for naming them in an error (`serve --demo.jobs`, `simulate --jobs`).
    public enum Setting: Sendable, CaseIterable {
        case jobs, agentsPerJob, itemsPerJob, meanItemSeconds, failureRate
    }

    /// The first setting outside what the simulation can run, with why; nil when all are fine. The
    /// counts size arrays and loops (a negative one crashed `simulate`, a huge one took all memory).
    public func problem() -> (setting: Setting, reason: String)? {
        func count(_ value: Int, _ setting: Setting, _ limit: Int) -> (Setting, String)? {
            (1...limit).contains(value) ? nil : (setting, "must be 1 to \(limit), not \(value)")
        }
        if let bad = count(jobs, .jobs, 1_000) ?? count(agentsPerJob, .agentsPerJob, 100_000) ?? count(itemsPerJob, .itemsPerJob, 100_000_000) {
            return bad
        }
        // Every simulated agent is held at once.
        guard jobs * agentsPerJob <= 1_000_000 else {
            return (.agentsPerJob, "times the jobs must be at most 1000000 agents in all, not \(jobs * agentsPerJob)")
        }
        guard meanItemSeconds.isFinite, meanItemSeconds > 0, meanItemSeconds <= 86_400 else {
            return (.meanItemSeconds, "must be more than 0 and at most 86400 seconds, not \(meanItemSeconds)")
        }
        guard failureRate.isFinite, (0...1).contains(failureRate) else {
            return (.failureRate, "must be 0 to 1, not \(failureRate)")
        }
        return nil
    }
}
