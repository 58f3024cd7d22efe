@testable import Alerting
import Foundation
import Testing
@testable import ExporterApp

/// The alert-state journal: what was announced comes back after a crash, a torn tail is cut off,
/// and the file is compacted to the firing alerts.
@Suite struct AlertStateJournalTests {
    let folder: String = {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("pe-alert-journal-\(UUID().uuidString)").path
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }()

    func alert(_ agent: String, activeAt: Double) -> AlertStateMachine.Active {
        AlertStateMachine.Active(
            condition: AlertCondition(labels: ["alertname": "AgentLost", "job_name": "j", "agent": agent, "severity": "critical"],
                                      annotations: ["summary": "\(agent) is gone"], value: 42, forDuration: 0, keepFiringFor: 60),
            state: .firing, activeAt: activeAt, firedAt: activeAt + 1)
    }

    @Test func announcedFiresComeBackAndResolvesTakeThemAway() throws {
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let (journal, first) = try AlertStateJournal.open(folder: folder)
        #expect(first == nil, "no journal yet")
        journal.record([.fired(alert("a", activeAt: 100)), .fired(alert("b", activeAt: 200))])
        journal.record([.resolved(alert("a", activeAt: 100), at: 300)])
        let (_, announced) = try AlertStateJournal.open(folder: folder)
        let back = try #require(announced)
        #expect(back.map(\.condition.labels["agent"]) == ["b"])
        #expect(back.first?.activeAt == 200 && back.first?.firedAt == 201 && back.first?.condition.keepFiringFor == 60)
        #expect(back.first?.condition.annotations["summary"] == "b is gone")
    }

    @Test func aTornTailIsCutOffAndTheRestKept() throws {
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let (journal, _) = try AlertStateJournal.open(folder: folder)
        journal.record([.fired(alert("a", activeAt: 100))])
        journal.record([.fired(alert("b", activeAt: 200))])
        let path = folder + "/" + AlertStateJournal.fileName
        var bytes = try #require(FileManager.default.contents(atPath: path))
        bytes.removeLast(5)  // a crash in the middle of the second write
        try bytes.write(to: URL(fileURLWithPath: path))
        let (reopened, announced) = try AlertStateJournal.open(folder: folder)
        #expect(announced?.map(\.condition.labels["agent"]) == ["a"])
        reopened.record([.fired(alert("c", activeAt: 300))])
        let (_, again) = try AlertStateJournal.open(folder: folder)
        #expect(Set(again?.compactMap(\.condition.labels["agent"]) ?? []) == ["a", "c"], "appends after the cut, not after the torn bytes")
    }

    @Test func manyTransitionsAreCompactedToTheFiringAlerts() throws {
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let (journal, _) = try AlertStateJournal.open(folder: folder)
        for n in 0..<3_000 {
            journal.record([.fired(alert("x\(n)", activeAt: Double(n))), .resolved(alert("x\(n)", activeAt: Double(n)), at: Double(n))])
        }
        journal.record([.fired(alert("kept", activeAt: 1))])
        let size = try #require(try FileManager.default.attributesOfItem(atPath: folder + "/" + AlertStateJournal.fileName)[.size] as? Int)
        #expect(size < 200_000, "compacted: \(size) bytes")
        let (_, announced) = try AlertStateJournal.open(folder: folder)
        #expect(announced?.map(\.condition.labels["agent"]) == ["kept"])
    }
}

/// `check-config` says what `after: auto` and `keep_firing_for` make of a rule.
@Suite struct CheckConfigAutoAfterTests {
    @Test func autoAfterAndKeepFiringForAreShown() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("pe-check-\(UUID().uuidString).yml")
        defer { try? FileManager.default.removeItem(at: file) }
        try "rules:\n  - kind: agent_stalled\n  - kind: agent_failing\n  - kind: agent_lost\n    after: 10m\n".write(to: file, atomically: true, encoding: .utf8)
        let text = try Exporter.checkConfig(file.path)
        #expect(text.contains("AgentStalled (agent_stalled) severity=warning for=15s after=auto(max(30s, 3.0 x p99 item duration))"), "\(text)")
        #expect(text.contains("AgentFailing (agent_failing) severity=warning for=1m keep_firing_for=1m"), "\(text)")
        #expect(text.contains("AgentLost (agent_lost) severity=critical for=0s after=10m"), "\(text)")
    }
}
