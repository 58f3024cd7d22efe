import Events
import Foundation
import Testing

@Suite struct ProdigyEventDecoderTests {
    let decoder = ProdigyEventDecoder()
    static let job = "prodigy/mapreduce-1757944931123"

    func decode(_ line: String) -> ProdigyEventDecoder.Outcome {
        decoder.decode(line: Array(line.utf8), job: Self.job)
    }

    static func fixtureLines() throws -> [String] {
        let url = try #require(Bundle.module.url(
            forResource: "prodigy-mapreduce-events", withExtension: "jsonl", subdirectory: "Fixtures"))
        let text = try String(contentsOf: url, encoding: .utf8)
        return text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
    }

    @Test func readsTheFixtureLineByLine() throws {
        var kinds: [Event.Kind: Int] = [:]
        var ignored: [String: Int] = [:]
        for line in try Self.fixtureLines() {
            switch decode(line) {
            case .event(let event):
                kinds[event.kind, default: 0] += 1
                #expect(event.job == Self.job)
                #expect(event.time != nil)
            case .ignored(let kind):
                ignored[kind, default: 0] += 1
            case .rejected(let error):
                Issue.record("rejected \(error): \(line)")
            }
        }
        #expect(kinds == [
            .jobStarted: 1, .agentStarted: 2, .agentProgress: 3, .itemCompleted: 1, .itemFailed: 3,
            .itemDeadLettered: 1, .jobCompleted: 1, .agentRetrying: 1,
        ])
        #expect(ignored == ["checkpoint_created": 1, "queue_depth_changed": 1, "claude_token_usage": 1])
    }

    @Test func mapsTheFixtureFields() throws {
        let events = try Self.fixtureLines().compactMap { line -> Event? in
            if case .event(let event) = decode(line) { return event }
            return nil
        }
        try #require(events.count == 13)

        let started = events[0]
        #expect(started.kind == .jobStarted)
        #expect(started.totalItems == 3)
        #expect(abs(started.time! - 1_757_944_931.412733901) < 1e-6)

        #expect(events[1] == Event(
            kind: .agentStarted, job: Self.job, agent: "agent-0-item_0", item: "item_0", time: events[1].time
        ).with { $0.attempt = 1 })

        #expect(events[2].step == "step_1")
        #expect(abs(events[2].progress! - 0.16666668) < 1e-9)
        #expect(events[4].progress == 0.5)

        let completed = events[6]
        #expect(completed.kind == .itemCompleted)
        #expect(completed.agent == "agent-0-item_0")
        #expect(completed.item == nil)
        #expect(completed.completesAgent)
        #expect(abs(completed.durationSeconds! - 80.66299844) < 1e-9)

        #expect(events[7].kind == .itemFailed)
        #expect(events[7].retryable == true)
        #expect(events[7].error == "Command failed with exit code 101: cargo test")
        #expect(events[9].agent == "agent_0")
        #expect(events[9].retryable == false)

        let deadLettered = events[10]
        #expect(deadLettered.kind == .itemDeadLettered)
        #expect(deadLettered.item == "item_2")
        #expect(deadLettered.agent == nil)
        #expect(deadLettered.error == "Unknown::Failed to create worktree: git worktree add failed")

        #expect(events[11].kind == .jobCompleted)
        #expect(abs(events[11].time! - 1_757_945_029.002) < 1e-6)
        #expect(events[12].kind == .agentRetrying)
        #expect(events[12].attempt == 2)
    }

    static let kindCases: [(String, Event.Kind)] = [
        (#"{"event":{"event_type":"dlq_item_added","item_id":"i"}}"#, .itemDeadLettered),
        (#"{"event":{"event_type":"job_failed","error":"x"}}"#, .jobFailed),
        (#"{"event":{"event_type":"job_paused"}}"#, .jobPaused),
        (#"{"event":{"event_type":"job_resumed"}}"#, .jobResumed),
    ]

    @Test(arguments: kindCases)
    func mapsKinds(line: String, kind: Event.Kind) {
        guard case .event(let event) = decode(line) else {
            Issue.record("not an event")
            return
        }
        #expect(event.kind == kind)
        #expect(event.time == nil)
    }

    @Test func readsSerdeDurationsAndClampsProgress() {
        let completed = decode(#"{"event":{"event_type":"agent_completed","agent_id":"a","duration":{"secs":2,"nanos":500000000}}}"#)
        #expect(completed == .event(Event(kind: .itemCompleted, job: Self.job, agent: "a").with {
            $0.durationSeconds = 2.5
            $0.completesAgent = true
        }))
        let progress = decode(#"{"event":{"event_type":"agent_progress","agent_id":"a","progress_pct":100.00001}}"#)
        #expect(progress == .event(Event(kind: .agentProgress, job: Self.job, agent: "a").with { $0.progress = 1 }))
    }

    @Test func ignoresOddFieldsOfIgnoredKinds() {
        let line = #"{"event":{"event_type":"claude_message","error":{"code":5},"duration":"long","agent_id":7}}"#
        #expect(decode(line) == .ignored(kind: "claude_message"))
    }

    static let rejectionCases: [(String, EventRejectReason, String)] = [
        ("{\"event\":", .invalidJSON, ""),
        (#"{"id":"x"}"#, .missingField, "missing field event"),
        (#"{"event":{"job_id":"x"}}"#, .missingField, "missing field event.event_type"),
        (#"{"event":{"event_type":3}}"#, .invalidValue, "event.event_type: not a string"),
        (#"{"event":{"event_type":"agent_progress","step":"s"}}"#, .missingField, "missing field event.agent_id"),
        (#"{"event":{"event_type":"d_l_q_item_added"}}"#, .missingField, "missing field event.item_id"),
        (#"{"event":{"event_type":"agent_completed","agent_id":"a","duration":[1]}}"#,
         .invalidValue, "event.duration: not [seconds, nanoseconds]"),
        (#"{"event":{"event_type":"agent_failed","agent_id":"a","retry_eligible":"yes"}}"#,
         .invalidValue, "event.retry_eligible: not a boolean"),
        (#"{"event":{"event_type":"job_started","total_items":-3}}"#, .invalidValue, "event.total_items: negative"),
        (#"{"event":{"event_type":"agent_started","agent_id":""}}"#, .invalidValue, "event.agent_id: empty"),
        (#"{"timestamp":"soon","event":{"event_type":"job_completed"}}"#,
         .invalidValue, "timestamp: not an RFC 3339 time"),
    ]

    @Test(arguments: rejectionCases)
    func rejects(line: String, reason: EventRejectReason, detail: String) {
        guard case .rejected(let error) = decode(line) else {
            Issue.record("not rejected")
            return
        }
        #expect(error.reason == reason)
        if !detail.isEmpty { #expect(error.detail == detail) }
    }
}
