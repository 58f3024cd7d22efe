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
        /// A firing alert kept by `keep_firing_for`: when its condition stopped holding; nil while it holds.
        public var clearedAt: Double? = nil
    }

    /// What an update changed and receivers must hear about.
    public enum Transition: Sendable, Equatable {
        case fired(Active)
        case resolved(Active, at: Double)
    }

    public private(set) var active: [AlertKey: Active] = [:]
    /// Grows whenever an alert becomes pending, fires or goes away (not when only its values move):
    /// what depends on the set of alerts and their states is made again only when it moved.
    public private(set) var changes: UInt64 = 0

    public init() {}

    /// A machine that continues from alerts restored from a snapshot: firing ones stay firing with
    /// their `activeAt`, so they are not announced again.
    init(restoring alerts: [Active]) {
        for alert in alerts { active[alert.condition.key] = alert }
    }

    /// Makes the firing alerts exactly `announced` (see `AlertEngine.adoptAnnounced`); pending ones stay.
    mutating func adopt(announced: [Active]) {
        let keys = Set(announced.map(\.condition.key))
        for (key, alert) in active where alert.state == .firing && !keys.contains(key) { active[key] = nil }
        for alert in announced {
            var kept = alert
            kept.state = .firing
            kept.clearedAt = active[alert.condition.key]?.clearedAt
            active[alert.condition.key] = kept
        }
        changes += 1
    }

    /// Applies the conditions that hold at `now`; returns the alerts that fired and resolved.
    public mutating func update(holding conditions: [AlertCondition], now: Double) -> [Transition] {
        var transitions: [Transition] = []
        var seen = Set<AlertKey>(minimumCapacity: conditions.count)
        for condition in conditions {
            let key = condition.key
            guard seen.insert(key).inserted else { continue }
            // Changed in place: during an alert storm most conditions held at the last evaluation too,
            // and copying each alert out and back cost more than judging it.
            if let index = active.index(forKey: key) {
                // Values and annotations follow the latest evaluation; identity and activeAt stay.
                active.values[index].condition = condition
                active.values[index].clearedAt = nil
                if active.values[index].state == .pending, now - active.values[index].activeAt >= condition.forDuration {
                    active.values[index].state = .firing
                    active.values[index].firedAt = now
                    transitions.append(.fired(active.values[index]))
                    changes += 1
                }
            } else {
                var alert = Active(condition: condition, state: .pending, activeAt: now)
                if condition.forDuration <= 0 {
                    alert.state = .firing
                    alert.firedAt = now
                    transitions.append(.fired(alert))
                }
                active[key] = alert
                changes += 1
            }
        }
        // Every key seen is active now: only when more are active did some stop holding.
        if active.count > seen.count {
            var removed = false
            for (key, alert) in active where !seen.contains(key) {
                // Firing with `keep_firing_for`: stays firing until the condition has been gone that long.
                if alert.state == .firing, alert.condition.keepFiringFor > 0 {
                    let clearedAt = alert.clearedAt ?? now
                    if now - clearedAt < alert.condition.keepFiringFor {
                        if alert.clearedAt == nil { active[key]?.clearedAt = now }
                        continue
                    }
                }
                active[key] = nil
                removed = true
                if alert.state == .firing { transitions.append(.resolved(alert, at: now)) }
            }
            if removed { changes += 1 }
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
