import Events
import Exposition
import Testing
@testable import Tracking

/// A job's failures as the API, page, top and export read them, and the reasons /metrics counts.
@Suite struct FailureLogTests {
    let t0 = 1_800_000_000.0
    let clock = ManualClock(1_800_000_000)

    func failed(_ agent: String, _ item: String, _ error: String?, retryable: Bool = true, at t: Double) -> Event {
        var e = E.failed("j", agent, item: item, retryable: retryable, at: t)
        e.error = error
        return e
    }

    @Test func failuresAndDeadLettersNewestFirstWithTheItemsLastError() throws {
        let store = ProgressStore(clock: clock)
        store.apply([
            failed("a", "x", "timeout after 30s", at: t0),
            failed("b", "y", "disk full", retryable: false, at: t0 + 1),
            failed("a", "x", "timeout after 31s", at: t0 + 2),
            E.deadLettered("j", item: "x", at: t0 + 3),
        ], source: "test")
        let page = try #require(store.failures(job: "j"))
        #expect(page.failures.map(\.item) == ["x", "y", "x"])
        #expect(page.failures.first == JobFailures.Failure(time: t0 + 2, agent: "a", item: "x", error: "timeout after 31s", retryable: true))
        #expect(page.deadLettered == [JobFailures.DeadLetter(time: t0 + 3, agent: nil, item: "x", error: "timeout after 31s")])
        #expect(page.reasons == [.init(reason: "timeout after Ns", count: 2), .init(reason: "disk full", count: 1)])
        #expect(page.failedTotal == 3 && page.deadLetteredTotal == 1 && page.nextCursor == nil)
        #expect(store.failures(job: "nope") == nil)
    }

    @Test func pagesFollowTheCursorToTheEndWithoutRepeats() throws {
        let store = ProgressStore(clock: clock)
        store.apply((0..<7).map { failed("a", "i\($0)", "e", at: t0 + Double($0)) } + (0..<3).map { E.deadLettered("j", item: "i\($0)", at: t0 + 10) }, source: "test")
        var seen: [String] = [], dead: [String] = []
        var cursor: JobFailures.Cursor?
        var pages = 0
        repeat {
            let page = try #require(store.failures(job: "j", limit: 2, cursor: cursor))
            seen += page.failures.compactMap(\.item)
            dead += page.deadLettered.compactMap(\.item)
            cursor = page.nextCursor.flatMap(JobFailures.Cursor.init)
            pages += 1
        } while cursor != nil && pages < 10
        #expect(seen == (0..<7).reversed().map { "i\($0)" })
        #expect(dead == ["i2", "i1", "i0"])
        #expect(pages == 4)
    }

    @Test func cursorsAreStrict() {
        #expect(JobFailures.Cursor("3f.0") != nil)
        for bad in ["", ".", "1", "1.2.3", "-1.0", "A.0", "1 .0", String(repeating: "z", count: 40) + ".0", "zzzzzzzzzzzzzzzz.0"] {
            #expect(JobFailures.Cursor(bad) == nil, "\(bad)")
        }
    }

    @Test func keptEntriesAndReasonsAreBounded() throws {
        let store = ProgressStore(clock: clock)
        store.apply((0..<300).map { failed("a", "i\($0)", "error kind \(String(repeating: "x", count: $0 % 70 + 1)) #\($0)", at: t0) }, source: "test")
        let page = try #require(store.failures(job: "j", limit: 1000))
        #expect(page.failures.count == 100, "the last 100 failures are kept")
        #expect(page.reasons.count == 65 && page.reasons.last?.reason == "other")
        #expect(page.reasons.reduce(0) { $0 + $1.count } == 300)
    }

    @Test func hostileErrorsAreCutAndReasonsNormalised() {
        let huge = String(repeating: "é", count: 10_000)
        #expect(FailureLog.cut(huge).utf8.count <= FailureLog.errorBytes + 3)
        #expect(FailureLog.cut(huge).hasSuffix("…"))
        #expect(FailureReason.of("Timeout after 31s\non line 2") == "Timeout after Ns")
        #expect(FailureReason.of("  id 0x1f3a  failed\t\u{7}twice ") == "id N failed twice")
        #expect(FailureReason.of(nil) == "(no error given)")
        #expect(FailureReason.of("\n") == "(no error given)")
        #expect(FailureReason.of(String(repeating: "a", count: 500)).utf8.count == FailureLog.reasonBytes)
    }

    @Test func metricsGiveTheFirstReasonsTheirOwnSeriesAndEscapeThem() {
        var options = StoreOptions()
        options.failureReasons = 2
        let store = ProgressStore(options: options, clock: clock)
        store.apply([failed("a", "1", #"bad "quote" \ slash"#, at: t0), failed("a", "2", "second", at: t0), failed("a", "3", "third", at: t0),
                     failed("a", "4", "third", at: t0)], source: "test")
        var writer = ExpositionWriter(format: .prometheusText)
        StoreExposition(store).collect(into: &writer)
        let text = String(decoding: writer.finish(), as: UTF8.self)
        #expect(text.contains(#"progress_job_failures_by_reason_total{job_name="j",reason="bad \"quote\" \\ slash"} 1"#))
        #expect(text.contains(#"progress_job_failures_by_reason_total{job_name="j",reason="second"} 1"#))
        #expect(text.contains(#"progress_job_failures_by_reason_total{job_name="j",reason="other"} 2"#))
    }
}
