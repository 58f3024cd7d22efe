import Alerting
import Events
import Synchronization
@testable import Tracking
@_exported import TestSupport

/// Records what the engine sends, per receiver.
final class RecordingSink: NotificationSink {
    private let sent = Mutex<[(receiver: String, notification: AlertNotification)]>([])
    func enqueue(_ notifications: [AlertNotification], to receiver: String) {
        sent.withLock { sent in for n in notifications { sent.append((receiver, n)) } }
    }
    var all: [(receiver: String, notification: AlertNotification)] { sent.withLock { $0 } }
    func take() -> [(receiver: String, notification: AlertNotification)] {
        sent.withLock { sent in defer { sent = [] }; return sent }
    }
}

func event(_ kind: Event.Kind, _ job: String, _ agent: String? = nil, at t: Double, _ configure: (inout Event) -> Void = { _ in }) -> Event {
    var e = Event(kind: kind, job: job, agent: agent, time: t)
    configure(&e)
    return e
}

/// Applies events as a live exporter would see them: the clock at the newest event's time, so none is
/// taken for a future timestamp.
func feed(_ store: ProgressStore, _ clock: ManualClock, _ events: [Event]) {
    let newest = events.compactMap(\.time).max() ?? clock.now()
    if newest > clock.now() { clock.set(newest) }
    store.apply(events, source: "test")
}

/// The built-in rules with AgentStalled pending for 1m, as it was before `after: auto`: the engine
/// tests step through pending and firing with these timings (no item durations, so `auto` is 5m).
let stalledForAMinuteRules: [AlertRule] = AlertRule.defaults.map { rule in
    var rule = rule
    if rule.kind == .agentStalled { rule.forDuration = 60 }
    return rule
}
