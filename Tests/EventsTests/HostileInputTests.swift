import Events
import Testing

/// Lines an attacker can send: each is rejected alone with a reason, never a crash.
@Suite struct HostileInputTests {
    let decoder = NativeEventDecoder()
    let prodigy = ProdigyEventDecoder()

    /// 65,000 levels used to overflow the stack in the shim's recursive validation (SIGSEGV).
    @Test(arguments: ["[", "{\"a\":"])
    func deepNestingIsRejectedAsInvalidJSON(opener: String) {
        let closer = opener == "[" ? "]" : "}"
        let depth = 65_000
        let nested = String(repeating: opener, count: depth) + "1" + String(repeating: closer, count: depth)
        let line = #"{"type":"job_started","job":"j","extra":"# + nested + "}"
        let error = decoder.decode(line).error
        #expect(error?.reason == .invalidJSON)
        #expect(error?.detail.contains("deep") == true)
    }

    /// Numbers no tracker sends: an item of 1.8e308 s made a job's duration sum +Inf for good.
    @Test(arguments: [
        (#"{"type":"item_completed","job":"j","agent":"a","duration_seconds":1.7976931348623157e308}"#, "duration_seconds: more than a year"),
        (#"{"type":"item_completed","job":"j","agent":"a","duration_seconds":31708800}"#, "duration_seconds: more than a year"),
        (#"{"type":"job_started","job":"j","deadline":1e308}"#, "deadline: after the year 9999"),
        (#"{"type":"job_started","job":"j","ts":253402300801}"#, "ts: after the year 9999"),
        (#"{"type":"job_started","job":"j","ts":"2026-12-06T10:00:00.1234567890123Z"}"#, "ts: not a number or RFC 3339 time"),
        (#"{"type":"job_started","job":"j","ts":"2026-12-06T10:00:60Z"}"#, "ts: not a number or RFC 3339 time"),
    ])
    func numbersNoTrackerSendsAreRejected(line: String, detail: String) {
        let error = decoder.decode(line).error
        #expect(error?.reason == .invalidValue)
        #expect(error?.detail.hasPrefix(detail) == true, "\(error?.detail ?? "accepted")")
    }

    @Test func aYearLongItemAndTheLastSecondOf9999AreAccepted() {
        #expect(decoder.decode(#"{"type":"item_completed","job":"j","agent":"a","duration_seconds":31536000}"#).error == nil)
        #expect(decoder.decode(#"{"type":"job_started","job":"j","deadline":"9999-12-31T23:59:59.999999999Z"}"#).error == nil)
    }

    @Test func nestingWithinTheLimitIsAccepted() {
        let nested = String(repeating: "[", count: 60) + String(repeating: "]", count: 60)
        #expect(decoder.decode(#"{"type":"job_started","job":"j","extra":"# + nested + "}").error == nil)
    }

    @Test func prodigyLinesAreDepthLimitedToo() {
        let nested = String(repeating: "[", count: 65_000) + String(repeating: "]", count: 65_000)
        let line = #"{"timestamp":"2025-09-15T14:02:11Z","event":{"event_type":"agent_started","agent_id":"a","extra":"# + nested + "}}"
        if case .rejected(let error) = prodigy.decode(line: Array(line.utf8), job: "repo/run") {
            #expect(error.reason == .invalidJSON)
        } else {
            Issue.record("a 65,000-deep line was accepted")
        }
    }

    /// On-Demand reads any value starting with `n` as null; such lines used to be accepted.
    @Test(arguments: [
        #"{"type":"job_started","job":"j","total_items":nonsense}"#,
        #"{"type":"item_failed","job":"j","agent":"a","retryable":nah}"#,
        #"{"type":"job_started","job":"j","extra":nul}"#,
        #"{"type":"job_started","job":"j","extra":[1,nope]}"#,
        #"{"type":"job_started","job":"j","ts":nullx}"#,
    ])
    func brokenLiteralsAreInvalidJSON(line: String) {
        #expect(decoder.decode(line).error?.reason == .invalidJSON)
    }

    @Test func realNullsStayAbsent() throws {
        let event = try decoder.decode(#"{"type":"job_started","job":"j","total_items":null,"extra":[null]}"#).get()
        #expect(event.totalItems == nil)
    }
}
