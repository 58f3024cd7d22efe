/// The life of every alert, as Prometheus's alerting rules have it: a condition that starts holding
/// is pending; pending for at least its `for` it fires; a pending alert whose condition clears is
/// dropped silently; a firing one whose condition clears resolves. A value type that returns what
/// changed, so callers decide what to notify and tests need no clock.
public struct AlertStateMachine: Sendable {
    public enum State: String, Sendable {
        case pending, firing
    }

    /// One alert that is pending or firing.
    public struct Active: Sendable, Equatable {
        public var condition: AlertCondition
        public var state: State
        /// When the condition started holding (Prometheus's `activeAt`, sent as `startsAt`).
        public var activeAt: Double
        public var firedAt: Double?
    }

    /// What an update changed and receivers must hear about.
    public enum Transition: Sendable, Equatable {
        case fired(Active)
        case resolved(Active, at: Double)
    }

    public private(set) var active: [AlertKey: Active] = [:]

    public init() {}

    /// A machine that continues from alerts restored from a snapshot: firing ones stay firing with
    /// their `activeAt`, so they are not announced again.
    init(restoring alerts: [Active]) {
        for alert in alerts { active[alert.condition.key] = alert }
    }

    /// Applies the conditions that hold at `now`; returns the alerts that fired and resolved.
    public mutating func update(holding conditions: [AlertCondition], now: Double) -> [Transition] {
        var transitions: [Transition] = []
        var seen = Set<AlertKey>()
        for condition in conditions {
            let key = condition.key
            guard seen.insert(key).inserted else { continue }
            var alert = active[key] ?? Active(condition: condition, state: .pending, activeAt: now)
            // Values and annotations follow the latest evaluation; identity and activeAt stay.
            alert.condition = condition
            if alert.state == .pending, now - alert.activeAt >= condition.forDuration {
                alert.state = .firing
                alert.firedAt = now
                transitions.append(.fired(alert))
            }
            active[key] = alert
        }
        for (key, alert) in active where !seen.contains(key) {
            active[key] = nil
            if alert.state == .firing { transitions.append(.resolved(alert, at: now)) }
        }
        return transitions.sorted { $0.key < $1.key }
    }
}

extension AlertStateMachine.Transition {
    var key: AlertKey {
        switch self {
        case .fired(let alert), .resolved(let alert, _): return alert.condition.key
        }
    }
}
