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
}
