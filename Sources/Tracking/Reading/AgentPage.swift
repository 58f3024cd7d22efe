import HeapModule

/// Which of a job's agents to list, in which order, from where: `GET /api/v1/jobs/{job}/agents`
/// with `state`, `sort`, `limit` and `cursor`. A 1M-agent job answered 205 MB at once before.
public struct AgentQuery: Sendable, Equatable {
    public enum SortKey: String, Sendable, CaseIterable {
        case agent
        case progress
        case eta
        case lastSeen = "last_seen"
    }

    /// Agent states to keep (nil: all).
    public var states: Set<String>?
    public var sort: SortKey = .agent
    public var descending = false
    public var limit: Int
    /// Where the previous page ended (`AgentPage.next`).
    public var after: AgentCursor?

    public init(states: Set<String>? = nil, sort: SortKey = .agent, descending: Bool = false, limit: Int, after: AgentCursor? = nil) {
        self.states = states
        self.sort = sort
        self.descending = descending
        self.limit = limit
        self.after = after
    }
}

/// The last agent of a page, in the page's order: the next page starts after it. Agents without a
/// value to sort by (no progress, no ETA) come last in either direction.
public struct AgentCursor: Sendable, Equatable {
    public var value: Double
    public var agent: String

    public init(value: Double, agent: String) {
        self.value = value
        self.agent = agent
    }
}

/// One page of a job's agents.
public struct AgentPage: Sendable, Equatable {
    public var agents: [AgentSummary]
    /// Agents matching the query's states, over every page.
    public var total: Int
    /// Where the next page starts; nil on the last page.
    public var next: AgentCursor?
}

extension ProgressStore {
    /// A page of `job`'s agents (nil for an unknown job). The store's lock is held for one pass over
    /// the job's agents that keeps only the page's (a bounded heap: O(n log limit) time, O(limit)
    /// memory), never for a copy of every agent.
    public func agentPage(job id: String, query: AgentQuery) -> AgentPage? {
        let now = clock.now()
        let limit = max(1, query.limit)
        return state.withLock { state -> AgentPage? in
            guard let job = state.jobs[id] else { return nil }
            var total = 0
            // The page's agents so far, the last in page order on top (a max-heap of page order).
            var kept = Heap<Ranked>()
            for agent in job.agents {
                if let states = query.states, !states.contains(agent.state.rawValue) { continue }
                total += 1
                let ranked = Ranked(key: Self.sortValue(agent, query, now: now), agent: agent.id, descending: query.descending,
                                    idsDescending: query.descending && query.sort == .agent, record: agent)
                if let after = query.after, !ranked.comes(after: after) { continue }
                if kept.count < limit + 1 {
                    kept.insert(ranked)
                } else if let last = kept.max, ranked < last {
                    kept.replaceMax(with: ranked)
                }
            }
            var ordered = kept.unordered.sorted()
            var next: AgentCursor?
            if ordered.count > limit {
                ordered.removeLast()
                next = ordered.last.map { AgentCursor(value: $0.key, agent: $0.agent) }
            }
            return AgentPage(agents: ordered.map { Self.agentSummary(of: $0.record, now: now) }, total: total, next: next)
        }
    }

    /// What an agent is sorted by; agents without a value get +inf ascending, -inf descending, so
    /// they come last either way.
    private static func sortValue(_ agent: AgentRecord, _ query: AgentQuery, now: Double) -> Double {
        let missing = query.descending ? -Double.infinity : Double.infinity
        switch query.sort {
        case .agent: return 0
        case .progress: return agent.itemProgress ?? missing
        case .eta: return agent.itemETA(now: now) ?? missing
        case .lastSeen: return agent.lastSeen
        }
    }

    /// An agent in page order: by the sort value (reversed when descending), then by id (reversed
    /// too when sorting by id descending).
    private struct Ranked: Comparable {
        let key: Double
        let agent: String
        let descending: Bool
        let idsDescending: Bool
        let record: AgentRecord

        static func < (a: Ranked, b: Ranked) -> Bool {
            if a.key != b.key { return a.descending ? a.key > b.key : a.key < b.key }
            return a.idsDescending ? a.agent > b.agent : a.agent < b.agent
        }

        static func == (a: Ranked, b: Ranked) -> Bool { a.key == b.key && a.agent == b.agent }

        /// Whether it comes after the cursor in page order.
        func comes(after cursor: AgentCursor) -> Bool {
            if key != cursor.value { return descending ? key < cursor.value : key > cursor.value }
            return idsDescending ? agent < cursor.agent : agent > cursor.agent
        }
    }
}
