import Exposition
import Testing
@testable import Tracking

/// The index of held items the ETC reads instead of every agent of the job.
@Suite struct HeldItemsTests {
    func agent(_ id: String, item: String?, startedAt start: Double?) -> AgentRecord {
        let agent = AgentRecord(id: id, jobLabels: LabelSet([]), sampleHash: 0, state: .running, time: 0)
        agent.currentItem = item
        agent.itemStartTime = start
        return agent
    }

    @Test func findsTheItemsStartedByATimeAndOnlyTheLiveOnes() {
        var held = HeldItems()
        let agents = (0..<200).map { agent("a\($0)", item: "i\($0)", startedAt: Double($0)) }
        for (n, a) in agents.enumerated() { held.add(a, holding: n + 1) }
        #expect(Set(held.agents(startedBy: 9.5).map(\.id)) == Set((0..<10).map { "a\($0)" }))
        // a3 ends its item, a5 starts another: neither is found before 9.5 any more; a5 is, by 300.
        agents[3].clearItem()
        agents[5].itemStartTime = 300
        held.add(agents[5], holding: 199)
        #expect(Set(held.agents(startedBy: 9.5).map(\.id)) == Set([0, 1, 2, 4, 6, 7, 8, 9].map { "a\($0)" }))
        #expect(held.agents(startedBy: 1_000).count == 199, "each holder once")
        // Items end in start order: the stale entries do not pile up.
        for a in agents.prefix(150) {
            a.clearItem()
            held.trim(holding: 49)
        }
        #expect(held.count <= 2 * 49 + 64)
        #expect(Set(held.agents(startedBy: .infinity).map(\.id)) == Set((150..<200).map { "a\($0)" }))
        // Rebuilt from the agents that remain (after expiry, or on restore).
        held.rebuild(from: Array(agents.suffix(10)))
        #expect(held.agents(startedBy: .infinity).map(\.id).sorted() == (190..<200).map { "a\($0)" })
    }
}
