import Events
import Testing
@testable import Tracking

/// Paging a job's agents (issue 22 item 3, issue 25): every agent exactly once, in order, whatever
/// the page size, sort and direction; filters by state; the total counts every page.
@Suite struct AgentPageTests {
    static let t0 = 1_800_000_000.0

    static func store(agents: Int) -> ProgressStore {
        let clock = ManualClock(Self.t0 + 100)
        let store = ProgressStore(clock: clock)
        var events: [Event] = []
        for index in 0..<agents {
            let agent = "agent-\(index * 7919 % agents)"
            events.append(E.started("job", agent, item: "i\(index)", at: Self.t0 + Double(index % 50)))
            if index % 3 != 0 { events.append(E.progress("job", agent, steps: Int64(index % 10), of: 10, at: Self.t0 + Double(index % 60))) }
            if index % 5 == 0 { events.append(E.state("job", agent, .retrying, at: Self.t0 + 70)) }
        }
        store.apply(events, source: "test")
        return store
    }

    static func walk(_ store: ProgressStore, _ base: AgentQuery) -> (agents: [AgentSummary], totals: Set<Int>, pages: Int) {
        var query = base
        var all: [AgentSummary] = []
        var totals: Set<Int> = []
        var pages = 0
        while pages < 10_000 {
            let page = store.agentPage(job: "job", query: query)!
            pages += 1
            all += page.agents
            totals.insert(page.total)
            #expect(page.agents.count <= query.limit)
            guard let next = page.next else { break }
            query.after = next
        }
        return (all, totals, pages)
    }

    @Test(arguments: [AgentQuery.SortKey.agent, .progress, .eta, .lastSeen], [false, true])
    func everyAgentOnceInOrder(sort: AgentQuery.SortKey, descending: Bool) {
        let store = Self.store(agents: 1_234)
        let everyone = store.agentSummaries(job: "job")!
        for limit in [1, 7, 500, 5000] where limit > 1 || sort == .agent {
            let (agents, totals, pages) = Self.walk(store, AgentQuery(sort: sort, descending: descending, limit: limit))
            #expect(agents.count == everyone.count, "\(sort) \(descending) limit \(limit)")
            #expect(Set(agents.map(\.agent)).count == everyone.count, "each agent once")
            #expect(totals == [everyone.count])
            #expect(pages == (everyone.count + limit - 1) / limit)
            // In the page order: by the sort value (missing values last), then by id.
            let keys = agents.map { agent -> Double? in
                switch sort {
                case .agent: return 0
                case .progress: return agent.progressRatio
                case .eta: return agent.etaSeconds
                case .lastSeen: return agent.lastSeen
                }
            }
            for index in keys.indices.dropFirst() {
                let (a, b) = (keys[index - 1], keys[index])
                switch (a, b) {
                case (nil, .some): Issue.record("a missing value before a present one at \(index)")
                case let (x?, y?) where x != y: #expect(descending ? x > y : x < y)
                case (nil, nil), (.some, .some):
                    if a == b {
                        let idsDescending = descending && sort == .agent
                        #expect(idsDescending ? agents[index - 1].agent > agents[index].agent : agents[index - 1].agent < agents[index].agent)
                    }
                default: break
                }
            }
        }
    }

    @Test func filtersByStateAndCountsTheFilteredTotal() {
        let store = Self.store(agents: 300)
        let everyone = store.agentSummaries(job: "job")!
        let retrying = everyone.filter { $0.state == "retrying" }
        let (agents, totals, _) = Self.walk(store, AgentQuery(states: ["retrying"], limit: 25))
        #expect(!retrying.isEmpty)
        #expect(agents.map(\.agent) == retrying.map(\.agent).sorted())
        #expect(totals == [retrying.count])
        #expect(store.agentPage(job: "nope", query: AgentQuery(limit: 10)) == nil)
    }
}
