import Events
@_exported import TestSupport

/// Short constructors so tests read like the event scripts they describe.
enum E {
    static func jobStarted(_ job: String, total: Int64? = nil, at t: Double? = nil, deadline: Double? = nil) -> Event {
        var e = Event(kind: .jobStarted, job: job, time: t)
        e.totalItems = total
        e.deadline = deadline
        return e
    }
    static func itemsAdded(_ job: String, _ count: Int64, at t: Double? = nil) -> Event {
        var e = Event(kind: .jobItemsAdded, job: job, time: t)
        e.count = count
        return e
    }
    static func started(_ job: String, _ agent: String, item: String? = nil, at t: Double? = nil) -> Event {
        Event(kind: .agentStarted, job: job, agent: agent, item: item, time: t)
    }
    static func progress(_ job: String, _ agent: String, steps: Int64, of total: Int64, at t: Double? = nil) -> Event {
        var e = Event(kind: .agentProgress, job: job, agent: agent, time: t)
        e.stepsCompleted = steps
        e.totalSteps = total
        return e
    }
    static func heartbeat(_ job: String, _ agent: String, at t: Double? = nil) -> Event {
        Event(kind: .agentHeartbeat, job: job, agent: agent, time: t)
    }
    static func state(_ job: String, _ agent: String, _ state: AgentState, at t: Double? = nil) -> Event {
        var e = Event(kind: .agentState, job: job, agent: agent, time: t)
        e.state = state
        return e
    }
    static func completed(_ job: String, _ agent: String?, item: String? = nil, at t: Double? = nil, duration: Double? = nil) -> Event {
        var e = Event(kind: .itemCompleted, job: job, agent: agent, item: item, time: t)
        e.durationSeconds = duration
        return e
    }
    static func failed(_ job: String, _ agent: String?, item: String? = nil, retryable: Bool? = nil, at t: Double? = nil) -> Event {
        var e = Event(kind: .itemFailed, job: job, agent: agent, item: item, time: t)
        e.retryable = retryable
        e.error = "boom"
        return e
    }
    static func retrying(_ job: String, _ agent: String, attempt: Int64 = 2, at t: Double? = nil) -> Event {
        var e = Event(kind: .agentRetrying, job: job, agent: agent, time: t)
        e.attempt = attempt
        return e
    }
    static func deadLettered(_ job: String, item: String, at t: Double? = nil) -> Event {
        Event(kind: .itemDeadLettered, job: job, item: item, time: t)
    }
    static func ended(_ job: String, _ kind: Event.Kind = .jobCompleted, at t: Double? = nil) -> Event {
        Event(kind: kind, job: job, time: t)
    }
}
