import Exposition
import Synchronization
import Tracking

/// Where notifications go once routed; the delivery dispatcher in production, a recorder in tests.
public protocol NotificationSink: Sendable {
    /// Must not block: called on the evaluation path.
    func enqueue(_ notifications: [AlertNotification], to receiver: String)
}

/// What the engine needs from the config: rules, routes, receivers and how often each wants re-sends.
public struct AlertingSetup: Sendable {
    public var rules: [AlertRule]
    public var routes: [AlertRoute]
    public var receivers: [String]
    /// Receivers that want firing alerts again every so many seconds (Alertmanager); others hear of changes only.
    public var resendIntervals: [String: Double]
    /// The exporter's URL as operators reach it, for `generatorURL`.
    public var externalURL: String

    public init(rules: [AlertRule], routes: [AlertRoute], receivers: [String], resendIntervals: [String: Double] = [:], externalURL: String) {
        self.rules = rules
        self.routes = routes
        self.receivers = receivers
        self.resendIntervals = resendIntervals
        self.externalURL = externalURL
    }
}

/// Evaluates the rules against the store, keeps every alert's state and sends what changed to the sink.
public final class AlertEngine: Sendable {
    struct State {
        var setup: AlertingSetup
        var evaluator: RuleEvaluator
        var machine = AlertStateMachine()
        var lastSent: [AlertKey: [String: Double]] = [:]
        /// Per job: when its agents were last visited (see `RuleEvaluator.AgentVisit`).
        var visits: [String: RuleEvaluator.AgentVisit] = [:]
        /// Bumped by every reload, so visits made under older rules are dropped.
        var generation = 0
        /// `machine.changes` when `activeVersion` was last brought up to date.
        var machineChanges: UInt64 = 0
        /// A number that grows when which alerts are active, or their states, changes.
        var activeVersion: UInt64 = 0
    }

    private let store: ProgressStore
    private let sink: any NotificationSink
    /// Told of every evaluation's fires and resolves before they go to the sink (the alert-state
    /// journal writes them to disk), so what receivers heard survives a crash; set once at start.
    private let beforeSending = Mutex<(@Sendable ([AlertStateMachine.Transition]) -> Void)?>(nil)

    /// `persist` is called with the transitions of each evaluation that has any, before they are sent.
    public func persistTransitions(with persist: @escaping @Sendable ([AlertStateMachine.Transition]) -> Void) {
        beforeSending.withLock { $0 = persist }
    }
    let state: Mutex<State>
    /// What scrapes derive from the active alerts, kept until `activeVersion` moves: with thousands
    /// of alerts, building them again for every scrape would cost more than the rest of it.
    private let perScrape = Mutex<PerScrape?>(nil)

    private struct PerScrape {
        let version: UInt64
        /// The `progress_alert_active` lines; never written again once made (scrapes send them by reference).
        let lines: SampleSection
        let agents: KeptAgents
    }

    public init(store: ProgressStore, setup: AlertingSetup, sink: any NotificationSink) {
        self.store = store
        self.sink = sink
        state = Mutex(State(setup: setup, evaluator: RuleEvaluator(rules: setup.rules)))
    }

    /// Swaps rules, routes and receivers (config reload); alert states carry over, so an alert
    /// whose rule is gone resolves at the next evaluation.
    public func replace(_ setup: AlertingSetup) {
        state.withLock { state in
            state.setup = setup
            state.evaluator = RuleEvaluator(rules: setup.rules)
            state.visits = [:]
            state.generation += 1
        }
    }

    /// One evaluation at the store's now; returns the transitions it caused.
    @discardableResult
    public func evaluate() -> [AlertStateMachine.Transition] {
        let (evaluator, lastVisits, generation) = state.withLock { ($0.evaluator, $0.visits, $0.generation) }
        var conditions: [AlertCondition] = []
        var visits: [String: RuleEvaluator.AgentVisit] = [:]
        visits.reserveCapacity(lastVisits.count)
        // A job's agents are judged a chunk per hold of the store's lock (see `JobEvaluation`).
        let now = store.forEachJob(visitor: { job in
            RuleEvaluator.JobEvaluation(evaluator, lastVisit: lastVisits[job])
        }, finished: { job, evaluation in
            conditions += evaluation.conditions
            if let visit = evaluation.nextVisit { visits[job] = visit }
        })
        var outgoing: [String: [AlertNotification]] = [:]
        let transitions = state.withLock { state -> [AlertStateMachine.Transition] in
            // A reload in between made new rules: their first evaluation visits every agent.
            if state.generation == generation { state.visits = visits }
            let transitions = state.machine.update(holding: conditions, now: now)
            let setup = state.setup
            let generatorURL = setup.externalURL + "/api/v1/alerts"
            for transition in transitions {
                switch transition {
                case .fired(let alert):
                    let notification = AlertNotification(
                        labels: alert.condition.labels, annotations: alert.condition.annotations, status: .firing,
                        startsAt: alert.activeAt, generatorURL: generatorURL)
                    for receiver in AlertRoute.receivers(for: alert.condition.labels, routes: setup.routes, receivers: setup.receivers) {
                        outgoing[receiver, default: []].append(notification)
                        state.lastSent[alert.condition.key, default: [:]][receiver] = now
                    }
                case .resolved(let alert, let at):
                    let notification = AlertNotification(
                        labels: alert.condition.labels, annotations: alert.condition.annotations, status: .resolved,
                        startsAt: alert.activeAt, endsAt: at, generatorURL: generatorURL)
                    for receiver in AlertRoute.receivers(for: alert.condition.labels, routes: setup.routes, receivers: setup.receivers) {
                        outgoing[receiver, default: []].append(notification)
                    }
                    state.lastSent[alert.condition.key] = nil
                }
            }
            // Firing alerts go again to receivers that want re-sends (Alertmanager expires them otherwise).
            let resends = setup.resendIntervals.values.contains { $0 > 0 }
            for alert in state.machine.active.values where resends && alert.state == .firing {
                for receiver in AlertRoute.receivers(for: alert.condition.labels, routes: setup.routes, receivers: setup.receivers) {
                    guard let interval = setup.resendIntervals[receiver], interval > 0 else { continue }
                    let last = state.lastSent[alert.condition.key]?[receiver] ?? 0
                    guard now - last >= interval else { continue }
                    outgoing[receiver, default: []].append(AlertNotification(
                        labels: alert.condition.labels, annotations: alert.condition.annotations, status: .firing,
                        startsAt: alert.activeAt, generatorURL: generatorURL))
                    state.lastSent[alert.condition.key, default: [:]][receiver] = now
                }
            }
            // Made again only when an alert came, went or changed state: with 100,000 alerts holding,
            // these passes cost more than the rest of an evaluation.
            if state.machine.changes != state.machineChanges {
                state.machineChanges = state.machine.changes
                state.activeVersion += 1
            }
            return transitions
        }
        if !transitions.isEmpty, let persist = beforeSending.withLock({ $0 }) { persist(transitions) }
        for (receiver, notifications) in outgoing.sorted(by: { $0.key < $1.key }) {
            sink.enqueue(notifications, to: receiver)
        }
        return transitions
    }

    /// Grows whenever an alert becomes pending, fires or goes away: live views re-read
    /// `activeAlerts()` only when it moved.
    public var activeVersion: UInt64 { state.withLock { $0.activeVersion } }

    /// Pending and firing alerts, in label order.
    public func activeAlerts() -> [AlertStateMachine.Active] {
        activeAlertsAndVersion().alerts
    }

    /// The active alerts and the `activeVersion` they are of, read together.
    private func activeAlertsAndVersion() -> (alerts: [AlertStateMachine.Active], version: UInt64) {
        let (alerts, version) = state.withLock { (Array($0.machine.active.values), $0.activeVersion) }
        // Job, agent and alert name tell almost every pair apart; the whole label set breaks the rest.
        // Comparing them first is several times cheaper than comparing label sets with 100k alerts.
        let sorted = alerts.map { (job: $0.condition.labels[AlertLabels.job] ?? "", agent: $0.condition.labels[AlertLabels.agent] ?? "", name: $0.condition.labels["alertname"] ?? "", alert: $0) }
            .sorted { a, b in
                if a.job != b.job { return a.job < b.job }
                if a.agent != b.agent { return a.agent < b.agent }
                if a.name != b.name { return a.name < b.name }
                return a.alert.condition.key < b.alert.condition.key
            }
            .map(\.alert)
        return (sorted, version)
    }

    /// The alert lines and agents of the current `activeVersion`, made once per version.
    private func currentPerScrape() -> PerScrape {
        let version = activeVersion
        if let kept = perScrape.withLock({ $0 }), kept.version == version { return kept }
        let (alerts, readVersion) = activeAlertsAndVersion()
        let lines = SampleSection()
        for alert in alerts {
            let labels = alert.condition.labels
            var set = LabelSet([("alertname", labels["alertname"] ?? ""), ("severity", labels["severity"] ?? ""), (AlertLabels.job, labels[AlertLabels.job] ?? "")])
            if let agent = labels[AlertLabels.agent] { set.append(AlertLabels.agent, agent) }
            set.append("state", alert.state.rawValue)
            lines.sample(Self.activeFamily, set, .empty, 1)
        }
        var byJob: [String: Set<String>] = [:]
        for alert in alerts {
            guard let agent = alert.condition.labels[AlertLabels.agent] else { continue }
            byJob[alert.condition.labels[AlertLabels.job] ?? "", default: []].insert(agent)
        }
        let made = PerScrape(version: readVersion, lines: lines, agents: byJob.isEmpty ? .none : KeptAgents(byJob: byJob))
        perScrape.withLock { kept in if (kept?.version ?? 0) <= readVersion { kept = made } }
        return made
    }

    /// A test for "this agent has a pending or firing alert" as of now, for one scrape: such agents
    /// are always in the series sample.
    public func agentsWithAlerts() -> KeptAgents {
        currentPerScrape().agents
    }

    static let activeFamily = MetricFamily(
        "progress_alert_active", .gauge, help: "1 for each pending or firing alert of the built-in rules.")

    /// Writes `progress_alert_active{alertname,severity,job_name,agent,state}`.
    public func collect(into writer: inout ExpositionWriter) {
        writer.family(Self.activeFamily)
        writer.appendKept(currentPerScrape().lines)
    }
}
