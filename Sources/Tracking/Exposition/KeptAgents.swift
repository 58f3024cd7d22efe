/// Agents that stay in the series sample whatever their hash (those with a pending or firing
/// alert). Known as a set per job (the alert engine's), a scrape visits just them and each job's
/// sample candidates; known only as a test, it must look at every agent.
public struct KeptAgents: Sendable {
    let byJob: [String: Set<String>]?
    private let test: @Sendable (String, String) -> Bool
    /// The same for every copy of one value: a scrape may reuse what it derived from an earlier
    /// scrape's value (each job's forced agents) while it is handed the same one again.
    let identity = Identity()

    final class Identity: Sendable {}

    /// Agent ids by job id.
    public init(byJob: [String: Set<String>]) {
        self.byJob = byJob
        test = { job, agent in byJob[job]?.contains(agent) ?? false }
    }

    /// Only a test: scrapes fall back to visiting every agent.
    public init(_ test: @escaping @Sendable (String, String) -> Bool) {
        byJob = nil
        self.test = test
    }

    public static let none = KeptAgents(byJob: [:])

    public func callAsFunction(_ job: String, _ agent: String) -> Bool { test(job, agent) }
}
