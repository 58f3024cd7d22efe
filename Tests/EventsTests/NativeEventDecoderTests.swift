import Events
import Testing

@Suite struct NativeEventDecoderTests {
    let decoder = NativeEventDecoder()

    static let typeCases: [(String, Event)] = [
        (#"{"type":"job_started","job":"etl","ts":1700000000,"total_items":300,"deadline":"2026-11-26T06:00:00Z","id":"e1"}"#,
         Event(kind: .jobStarted, job: "etl", time: 1_700_000_000).with {
             $0.totalItems = 300
             $0.deadline = 1_795_672_800
             $0.id = "e1"
         }),
        (#"{"type":"job_items_added","job":"etl","count":25}"#,
         Event(kind: .jobItemsAdded, job: "etl").with { $0.count = 25 }),
        (#"{"type":"job_completed","job":"etl"}"#, Event(kind: .jobCompleted, job: "etl")),
        (#"{"type":"job_failed","job":"etl","error":"disk full"}"#,
         Event(kind: .jobFailed, job: "etl").with { $0.error = "disk full" }),
        (#"{"type":"job_cancelled","job":"etl"}"#, Event(kind: .jobCancelled, job: "etl")),
        (#"{"type":"agent_started","job":"etl","agent":"w1","item":"i7","total_steps":4}"#,
         Event(kind: .agentStarted, job: "etl", agent: "w1", item: "i7").with { $0.totalSteps = 4 }),
        (#"{"type":"agent_progress","job":"etl","agent":"w1","step":"merge","steps_completed":2,"total_steps":4}"#,
         Event(kind: .agentProgress, job: "etl", agent: "w1").with {
             $0.step = "merge"
             $0.stepsCompleted = 2
             $0.totalSteps = 4
         }),
        (#"{"type":"agent_progress","job":"etl","agent":"w1","progress":0.25}"#,
         Event(kind: .agentProgress, job: "etl", agent: "w1").with { $0.progress = 0.25 }),
        (#"{"type":"agent_heartbeat","job":"etl","agent":"w1"}"#,
         Event(kind: .agentHeartbeat, job: "etl", agent: "w1")),
        (#"{"type":"agent_state","job":"etl","agent":"w1","state":"dead_lettered"}"#,
         Event(kind: .agentState, job: "etl", agent: "w1").with { $0.state = .deadLettered }),
        (#"{"type":"item_completed","job":"etl","agent":"w1","item":"i7","duration_seconds":12.5}"#,
         Event(kind: .itemCompleted, job: "etl", agent: "w1", item: "i7").with { $0.durationSeconds = 12.5 }),
        (#"{"type":"item_failed","job":"etl","agent":"w1","item":"i7","error":"boom","retryable":false}"#,
         Event(kind: .itemFailed, job: "etl", agent: "w1", item: "i7").with {
             $0.error = "boom"
             $0.retryable = false
         }),
        (#"{"type":"item_failed","job":"etl","agent":"w1","retryable":true}"#,
         Event(kind: .itemFailed, job: "etl", agent: "w1").with { $0.retryable = true }),
        (#"{"type":"agent_retrying","job":"etl","agent":"w1","attempt":2}"#,
         Event(kind: .agentRetrying, job: "etl", agent: "w1").with { $0.attempt = 2 }),
        (#"{"type":"item_dead_lettered","job":"etl","item":"i7","error":"gave up"}"#,
         Event(kind: .itemDeadLettered, job: "etl", item: "i7").with { $0.error = "gave up" }),
    ]

    @Test(arguments: typeCases)
    func decodesEachNativeType(line: String, expected: Event) {
        #expect(decoder.decode(line) == .success(expected))
    }

    @Test func everyNativeKindHasACode() {
        for kind in Event.Kind.native {
            let line = #"{"type":"\#(kind.rawValue)","job":"j","agent":"a","item":"i","count":1,"state":"running"}"#
            #expect((try? decoder.decode(line).get())?.kind == kind)
        }
    }

    @Test func skipsUnknownFieldsAndTreatsNullAsAbsent() {
        let line = #"{"extra":{"deep":[1,{"x":null}]},"type":"item_completed","job":"j","agent":"a","item":null,"ts":null,"retryable":null}"#
        #expect(decoder.decode(line) == .success(Event(kind: .itemCompleted, job: "j", agent: "a")))
    }

    @Test func acceptsAnyValidJSONInUnknownFields() {
        let line = #"{"type":"job_completed","job":"j","big":123456789012345678901234567890,"f":-0.0e-5,"s":"\u00e9","t":[true,false,null,{}]}"#
        #expect(decoder.decode(line) == .success(Event(kind: .jobCompleted, job: "j")))
    }

    static let escapeCases: [(String, String)] = [
        (#"a\"b"#, "a\"b"),
        (#"back\\slash"#, "back\\slash"),
        (#"two\nlines"#, "two\nlines"),
        (#"caf\u00e9"#, "café"),
        (#"\ud83d\ude80 launch"#, "🚀 launch"),
        (#"\/\b\f\r\t"#, "/\u{8}\u{c}\r\t"),
        ("raw ünïcødé 🚀", "raw ünïcødé 🚀"),
    ]

    @Test(arguments: escapeCases)
    func unescapesIds(escaped: String, id: String) throws {
        let line = #"{"type":"agent_heartbeat","job":"\#(escaped)","agent":"\#(escaped)","item":"\#(escaped)"}"#
        let event = try decoder.decode(line).get()
        #expect(event.job == id)
        #expect(event.agent == id)
        #expect(event.item == id)
    }

    @Test func unescapesKeys() {
        let line = #"{"typ\u0065":"job_completed","j\u006fb":"etl"}"#
        #expect(decoder.decode(line) == .success(Event(kind: .jobCompleted, job: "etl")))
    }

    static let numberCases: [(String, Event)] = [
        (#"{"type":"job_started","job":"j","ts":1700000000.25,"total_items":3.0}"#,
         Event(kind: .jobStarted, job: "j", time: 1_700_000_000.25).with { $0.totalItems = 3 }),
        (#"{"type":"job_items_added","job":"j","ts":1.7e9,"count":1e3}"#,
         Event(kind: .jobItemsAdded, job: "j", time: 1_700_000_000).with { $0.count = 1000 }),
        (#"{"type":"job_started","job":"j","total_items":9223372036854775807}"#,
         Event(kind: .jobStarted, job: "j").with { $0.totalItems = Int64.max }),
        (#"{"type":"job_started","job":"j","ts":"2023-11-14T22:13:20.5Z"}"#,
         Event(kind: .jobStarted, job: "j", time: 1_700_000_000.5)),
        (#"{"type":"agent_progress","job":"j","agent":"a","progress":1,"steps_completed":0}"#,
         Event(kind: .agentProgress, job: "j", agent: "a").with {
             $0.progress = 1
             $0.stepsCompleted = 0
         }),
        (#"{"type":"item_completed","job":"j","agent":"a","duration_seconds":25E-1}"#,
         Event(kind: .itemCompleted, job: "j", agent: "a").with { $0.durationSeconds = 2.5 }),
    ]

    @Test(arguments: numberCases)
    func readsNumbers(line: String, expected: Event) {
        #expect(decoder.decode(line) == .success(expected))
    }

    static let rejectionCases: [(String, EventRejectReason, String)] = [
        (#"{"type":"job_started","job":"j""#, .invalidJSON, ""),
        (#"{"type":"job_started","job":"j"} {}"#, .invalidJSON, ""),
        (#"not json"#, .invalidJSON, ""),
        (#"["job_started"]"#, .invalidJSON, "not a JSON object"),
        (#"{"type":"job_started","job":"j","x":"\xyz"}"#, .invalidJSON, ""),
        (#"{"type":"job_started","job":"j","x":[1,{"y":tru}]}"#, .invalidJSON, ""),
        (#"{"type":"job_started","job":"\ud800"}"#, .invalidJSON, ""),
        (#"{"type":"job_started","job":"j",}"#, .invalidJSON, ""),
        ("", .invalidJSON, "empty line"),
        (#"{"job":"j"}"#, .missingField, "missing field type"),
        (#"{"type":"job_started"}"#, .missingField, "missing field job"),
        (#"{"type":"job_started","job":null}"#, .missingField, "missing field job"),
        (#"{"type":"job_items_added","job":"j"}"#, .missingField, "missing field count"),
        (#"{"type":"agent_progress","job":"j","progress":0.5}"#, .missingField, "missing field agent"),
        (#"{"type":"agent_state","job":"j","agent":"a"}"#, .missingField, "missing field state"),
        (#"{"type":"item_completed","job":"j"}"#, .missingField, "missing field item (or agent)"),
        (#"{"type":"item_dead_lettered","job":"j","agent":"a"}"#, .missingField, "missing field item"),
        (#"{"type":"job_exploded","job":"j"}"#, .unknownType, #"unknown type "job_exploded""#),
        (#"{"type":"job_paused","job":"j"}"#, .unknownType, #"unknown type "job_paused""#),
        (#"{"type":7,"job":"j"}"#, .invalidValue, "type: not a string"),
        (#"{"type":"job_started","job":""}"#, .invalidValue, "job: empty"),
        (#"{"type":"job_started","job":42}"#, .invalidValue, "job: not a string"),
        (#"{"type":"job_started","job":"a\u0000b"}"#, .invalidValue, "job: contains NUL"),
        (#"{"type":"agent_heartbeat","job":"j","agent":"\#(String(repeating: "a", count: 1025))"}"#,
         .invalidValue, "agent: longer than 256 bytes"),
        (#"{"type":"agent_state","job":"j","agent":"a","state":"sleeping"}"#,
         .invalidValue, #"state: "sleeping" is not an agent state"#),
        (#"{"type":"job_items_added","job":"j","count":-1}"#, .invalidValue, "count: negative"),
        (#"{"type":"job_items_added","job":"j","count":1.5}"#, .invalidValue, "count: not an integer"),
        (#"{"type":"job_items_added","job":"j","count":"3"}"#, .invalidValue, "count: not an integer"),
        (#"{"type":"job_items_added","job":"j","count":1e30}"#, .invalidValue, "count: out of range"),
        (#"{"type":"job_items_added","job":"j","count":9223372036854775808}"#, .invalidValue, "count: out of range"),
        (#"{"type":"agent_progress","job":"j","agent":"a","progress":1.5}"#, .invalidValue, "progress: outside 0...1"),
        (#"{"type":"agent_progress","job":"j","agent":"a","progress":"half"}"#, .invalidValue, "progress: not a number"),
        (#"{"type":"item_failed","job":"j","agent":"a","retryable":"no"}"#, .invalidValue, "retryable: not a boolean"),
        (#"{"type":"job_started","job":"j","ts":"yesterday"}"#, .invalidValue, "ts: not a number or RFC 3339 time"),
        (#"{"type":"job_started","job":"j","ts":true}"#, .invalidValue, "ts: not a number or RFC 3339 time"),
        (#"{"type":"job_started","job":"j","ts":-5}"#, .invalidValue, "ts: before 1970"),
        (#"{"type":"job_started","job":"j","deadline":"2026-02-30T00:00:00Z"}"#,
         .invalidValue, "deadline: not a number or RFC 3339 time"),
        (#"{"type":"item_completed","job":"j","agent":"a","duration_seconds":-1}"#,
         .invalidValue, "duration_seconds: negative"),
    ]

    /// An empty expected detail means "any detail": simdjson words JSON errors itself.
    @Test(arguments: rejectionCases)
    func rejects(line: String, reason: EventRejectReason, detail: String) throws {
        let error = try #require(decoder.decode(line).error)
        #expect(error.reason == reason)
        if detail.isEmpty {
            #expect(!error.detail.isEmpty)
        } else {
            #expect(error.detail == detail)
        }
    }

    @Test func rejectsInvalidUTF8() throws {
        let line = Array(#"{"type":"job_started","job":""#.utf8) + [0xFF] + Array(#""}"#.utf8)
        #expect(decoder.decode(line: line).error?.reason == .invalidJSON)
    }

    @Test func lineLimitCountsBytes() throws {
        let decoder = NativeEventDecoder(limits: DecoderLimits(maxLineBytes: 100))
        let head = #"{"type":"job_started","job":""#
        let tail = #""}"#
        let atLimit = head + String(repeating: "x", count: 100 - head.utf8.count - tail.utf8.count) + tail
        #expect(atLimit.utf8.count == 100)
        #expect(try decoder.decode(atLimit).get().job.utf8.count == 100 - head.utf8.count - tail.utf8.count)

        let overLimit = head + "x" + String(atLimit.dropFirst(head.utf8.count))
        #expect(decoder.decode(overLimit).error == EventDecodeError(.tooLong, "line of 101 bytes, longer than 100"))
    }

    @Test func idLimitIsConfigurable() {
        let decoder = NativeEventDecoder(limits: DecoderLimits(maxIdBytes: 4))
        #expect(decoder.decode(#"{"type":"job_started","job":"abcd"}"#) == .success(Event(kind: .jobStarted, job: "abcd")))
        #expect(decoder.decode(#"{"type":"job_started","job":"abcdé"}"#).error?.detail == "job: longer than 4 bytes")
    }

    @Test func parsesInPlaceWithPaddingAndCopiesWithout() {
        let line = Array(#"{"type":"agent_heartbeat","job":"j","agent":"a"}"#.utf8)
        let expected = Event(kind: .agentHeartbeat, job: "j", agent: "a")
        let padded = line + Array(repeating: UInt8(ascii: "}"), count: 64)
        padded.withUnsafeBytes { bytes in
            let view = UnsafeRawBufferPointer(rebasing: bytes[..<line.count])
            #expect(decoder.decode(line: view, readableCapacity: bytes.count) == .success(expected))
        }
        // Capacity == length: the shim copies into its own padded buffer.
        let exact = UnsafeMutableRawBufferPointer.allocate(byteCount: line.count, alignment: 1)
        defer { exact.deallocate() }
        exact.copyBytes(from: line)
        #expect(decoder.decode(line: UnsafeRawBufferPointer(exact), readableCapacity: line.count) == .success(expected))
    }

    @Test func stringsOutliveTheNextParse() throws {
        let first = try decoder.decode(#"{"type":"job_started","job":"first-job-with-a-long-id-\u00e9"}"#).get()
        _ = try decoder.decode(#"{"type":"job_started","job":"second-job-with-another-long-id"}"#).get()
        #expect(first.job == "first-job-with-a-long-id-é")
    }
}
