import Testing
@testable import Alerting

@Suite struct AlertStateMachineTests {
    func condition(_ agent: String, for seconds: Double = 60) -> AlertCondition {
        AlertCondition(labels: ["alertname": "AgentStalled", "job_name": "j", "agent": agent, "severity": "warning"],
                       annotations: [:], value: 1, forDuration: seconds)
    }

    @Test func pendingThenFiringOnceForHasPassedThenResolved() {
        var machine = AlertStateMachine()
        #expect(machine.update(holding: [condition("a")], now: 100).isEmpty)
        #expect(machine.active.values.first?.state == .pending)
        #expect(machine.update(holding: [condition("a")], now: 159).isEmpty, "59 s is not yet 60")
        let fired = machine.update(holding: [condition("a")], now: 160)
        #expect(fired.count == 1)
        guard case .fired(let alert) = fired.first else { Issue.record("expected a fire"); return }
        #expect(alert.activeAt == 100)
        #expect(machine.update(holding: [condition("a")], now: 161).isEmpty, "fires once")
        let resolved = machine.update(holding: [], now: 170)
        guard case .resolved(_, let at) = resolved.first else { Issue.record("expected a resolve"); return }
        #expect(at == 170)
        #expect(machine.active.isEmpty)
    }

    @Test func forZeroFiresAtOnce() {
        var machine = AlertStateMachine()
        #expect(machine.update(holding: [condition("a", for: 0)], now: 5).count == 1)
    }

    @Test func aPendingAlertWhoseConditionClearsIsDroppedSilently() {
        var machine = AlertStateMachine()
        _ = machine.update(holding: [condition("a")], now: 0)
        #expect(machine.update(holding: [], now: 10).isEmpty)
        #expect(machine.active.isEmpty)
        // Coming back starts a new pending period.
        _ = machine.update(holding: [condition("a")], now: 20)
        #expect(machine.update(holding: [condition("a")], now: 79).isEmpty)
        #expect(machine.update(holding: [condition("a")], now: 80).count == 1)
    }

    @Test func identityIsTheLabelSetAndDuplicatesCollapse() {
        var machine = AlertStateMachine()
        let transitions = machine.update(holding: [condition("a", for: 0), condition("a", for: 0), condition("b", for: 0)], now: 0)
        #expect(transitions.count == 2)
        #expect(machine.active.count == 2)
    }
}
