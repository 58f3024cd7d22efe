import Foundation
import Testing
import Tracking
@testable import ExporterApp

/// `progress-exporter top`'s text: fed with the stream's JSON, the screen fits the terminal, bars are
/// proportional, and ids cannot bring control characters to the terminal.
@Suite struct TopRenderTests {
    static let now = 1_800_000_000.0
    static let utc = TimeZone(identifier: "UTC")!

    /// A job as the stream sends it; `name` is JSON (so it may hold escaped control characters).
    static func jobJSON(_ name: String, finished: Int, planned: Int, running: Int = 1) -> String {
        let ratio = Double(finished) / Double(planned)
        return #"{"agents":{"running":\#(running)},"completed":\#(finished),"dead_lettered":0,"eta_lower_bound_seconds":30,"eta_seconds":45,"eta_upper_bound_seconds":80,"estimated_completion_timestamp":\#(now + 45),"failed":2,"finished":\#(finished),"job":\#(name),"last_event_timestamp":\#(now),"planned":\#(planned),"progress_ratio":\#(ratio),"remaining":\#(planned - finished),"retries":0,"start_timestamp":\#(now - 100),"status":"running","throughput":12.5,"throughput_by_window":{"1m":12.5}}"#
    }

    static func state(jobs: [String], agents: [String] = [], agentJob: String? = nil) -> TopState {
        var state = TopState()
        let hello = state.apply(event: "hello", data: Data(#"{"instance":"x","sequence":0,"reset":true,"job":\#(agentJob.map { "\"\($0)\"" } ?? "null")}"#.utf8))
        #expect(hello)
        let read = state.apply(event: "jobs", data: Data(#"{"sequence":5,"jobs":[\#(jobs.joined(separator: ","))],"removed":[]}"#.utf8))
        #expect(read)
        if let agentJob {
            let agentsRead = state.apply(event: "agents", data: Data(#"{"job":"\#(agentJob)","sequence":5,"complete":true,"agents":[\#(agents.joined(separator: ","))]}"#.utf8))
            #expect(agentsRead)
        }
        return state
    }

    /// No C0/C1 control character and no ESC in any line.
    static func clean(_ line: String) -> Bool {
        !line.unicodeScalars.contains { $0.value < 0x20 || (0x7F ... 0x9F).contains($0.value) }
    }

    static func bar(in line: String) -> Substring? {
        guard let open = line.firstIndex(of: "["), let close = line[open...].firstIndex(of: "]") else { return nil }
        return line[line.index(after: open) ..< close]
    }

    @Test(arguments: [40, 80, 100, 160])
    func linesFitTheWidthAndBarsAreProportional(width: Int) throws {
        let state = Self.state(jobs: [
            Self.jobJSON(#""quarter""#, finished: 250, planned: 1000),
            Self.jobJSON(#""three-quarters""#, finished: 750, planned: 1000),
            Self.jobJSON(#""a-job-with-a-very-long-name-that-would-not-fit-anywhere-reasonable""#, finished: 0, planned: 10),
        ])
        let lines = TopRender.screen(state, width: width, height: 30, now: Self.now, source: "http://127.0.0.1:9465", timeZone: Self.utc)
        #expect(lines.count >= 5)
        for line in lines { #expect(line.count <= width, "\(line.count) > \(width): \(line)") }
        guard width >= 100 else { return }
        let quarter = try #require(lines.first { $0.hasPrefix("quarter") })
        let three = try #require(lines.first { $0.hasPrefix("three-quarters") })
        let q = try #require(Self.bar(in: quarter), "\(lines.joined(separator: "\n"))"), t = try #require(Self.bar(in: three))
        #expect(q.count == t.count && q.count >= 10)
        // Filled cells in proportion to progress (rounded down).
        #expect(q.filter { $0 == "#" }.count == q.count / 4)
        #expect(t.filter { $0 == "#" }.count == q.count * 3 / 4)
        #expect(quarter.contains(" 250/1000 ") && quarter.contains(" 750 ") && quarter.contains(" 12.5/s "), "\(quarter)")
        #expect(quarter.contains(" 45s ") && quarter.contains(" 30s-1m20s ") && quarter.hasSuffix(" 08:00:45"), "\(quarter)")
    }

    /// A job as the stream sends it, with its status and times.
    static func job(_ name: String, finished: Int, planned: Int, status: String = "running", completion: Double? = nil) -> String {
        let ratio = Double(finished) / Double(planned)
        let completionField = completion.map { #","estimated_completion_timestamp":\#($0)"# } ?? ""
        let etc = status == "running" ? #","eta_lower_bound_seconds":90,"eta_seconds":94,"eta_upper_bound_seconds":99"# : ""
        return #"{"agents":{"running":1},"finished":\#(finished),"failed":0,"job":"\#(name)","last_event_timestamp":\#(now - 30),"planned":\#(planned),"progress_ratio":\#(ratio),"remaining":\#(planned - finished),"start_timestamp":\#(now - 300),"status":"\#(status)","throughput":0.5\#(etc)\#(completionField)}"#
    }

    /// 199 of 200 is 99 %, not 100 %; only a job with nothing left shows 100 %.
    @Test func progressIsNever100PercentWhileItemsRemain() {
        #expect(TopRender.percent(0.995, remaining: 1) == "99%")
        #expect(TopRender.percent(0.9999, remaining: 1, decimals: 1) == "99.9%")
        #expect(TopRender.percent(1, remaining: 1) == "99%")
        #expect(TopRender.percent(1, remaining: 0) == "100%")
        #expect(TopRender.percent(0.3) == "30%")
        let state = Self.state(jobs: [Self.job("myjob", finished: 199, planned: 200, completion: Self.now + 94)])
        let line = TopRender.screen(state, width: 120, height: 10, now: Self.now, source: "u", timeZone: Self.utc).first { $0.hasPrefix("myjob") }
        #expect(line?.contains(" 99% 199/200 ") == true, "\(line ?? "")")
        #expect(TopRender.summaryLine(state.jobs["myjob"]!, now: Self.now).contains("progress=99.5%"))
    }

    /// Names that differ at their end stay apart when cut (in the middle); whole columns go before a
    /// name is cut; the header's columns stay over the data's at every width.
    @Test(arguments: [60, 70, 80, 100, 120])
    func namesStayApartAndTheHeaderStaysAligned(width: Int) throws {
        let names = ["etl-nightly-run1-with-a-long-suffix", "etl-nightly-run2-with-a-long-suffix", "x"]
        let state = Self.state(jobs: names.map { Self.job($0, finished: 150, planned: 200, completion: Self.now + 94) }
            + [Self.job("done-job", finished: 200, planned: 200, status: "completed", completion: Self.now - 30)])
        let lines = TopRender.screen(state, width: width, height: 20, now: Self.now, source: "u", timeZone: Self.utc)
        let header = try #require(lines.first { $0.hasPrefix("JOB") }, "\(lines)")
        let rows = lines.filter { $0.hasPrefix("etl") || $0.hasPrefix("x ") || $0.hasPrefix("done-job") }
        #expect(rows.count == 4, "\(lines.joined(separator: "\n"))")
        for line in lines { #expect(line.count <= width) }
        // Distinguishable: the two long names are cut to different texts.
        let shown = rows.prefix(2).map { $0.prefix { $0 != " " } }
        #expect(shown[0] != shown[1], "\(shown)")
        // Aligned: each header word starts where a left-aligned column's cells start, or ends where a
        // right-aligned column's cells end.
        for word in ["ETC", "FINISH", "80% BAND"] {
            guard let range = header.range(of: word) else { continue }
            let column = header.distance(from: header.startIndex, to: range.lowerBound)
            for row in rows {
                let before = row.index(row.startIndex, offsetBy: column - 1)
                // An ended job has no band: its cell is empty.
                let empty = word == "80% BAND" && row.hasPrefix("done-job")
                #expect(row[before] == " " && (row[row.index(after: before)] != " ") != empty, "\(word) at \(column):\n\(header)\n\(row)")
            }
        }
        for word in ["%", "DONE"] {
            let range = try #require(header.range(of: word))
            let end = header.distance(from: header.startIndex, to: range.upperBound)
            for row in rows {
                let last = row.index(row.startIndex, offsetBy: end - 1)
                #expect(row[last] != " " && (end == row.count || row[row.index(after: last)] == " "), "\(word) ending at \(end):\n\(header)\n\(row)")
            }
        }
        // The band is shown whole or not at all, never cut mid-parenthesis.
        #expect(!rows.contains { $0.contains("(") })
        // An ended job's finish is when it ended (its last item, 30 s ago), not now.
        let done = try #require(rows.first { $0.hasPrefix("done-job") })
        #expect(done.contains("completed") && done.contains("100%"), "\(done)")
        // Its rate is its mean over the run: 200 items in 270 s (started 300 s ago, ended 30 s ago).
        if header.contains("RATE") { #expect(done.contains(" 0.74/s "), "\(done)") }
        if header.contains("FINISH") { #expect(done.hasSuffix("07:59:30"), "\(done)") }
    }

    @Test func theHeightIsRespected() {
        let jobs = (0 ..< 50).map { Self.jobJSON("\"job-\($0)\"", finished: $0, planned: 50) }
        let agents = (0 ..< 50).map { #"{"agent":"a\#($0)","state":"running","completed":1,"failed":0,"retries":0,"consecutive_failures":0,"last_seen_timestamp":\#(Self.now)}"# }
        for height in [1, 5, 30] {
            let lines = TopRender.screen(Self.state(jobs: jobs, agents: agents, agentJob: "job-1"), width: 100, height: height, now: Self.now, source: "u")
            #expect(lines.count == height)
        }
    }

    @Test func hostileIdsReachTheScreenWithoutControlCharacters() {
        // ESC [2J (clear screen), an OSC title, a bell, a C1 CSI, a right-to-left override, a newline.
        let hostile = #""evil\u001b[2J\u001b]0;owned\u0007\u009b31m\u202ejob\nx""#
        let agents = [
            #"{"agent":\#(hostile),"state":"running","completed":1,"failed":5,"retries":0,"consecutive_failures":4,"last_seen_timestamp":\#(Self.now)}"#,
        ]
        let state = Self.state(jobs: [Self.jobJSON(hostile, finished: 5, planned: 10)], agents: agents, agentJob: "evil\\u001b[2J\\u001b]0;owned\\u0007\\u009b31m\\u202ejob\\nx")
        #expect(state.agents.count == 1)
        let lines = TopRender.screen(state, width: 120, height: 30, now: Self.now, source: "u")
        for line in lines {
            #expect(Self.clean(line), "\(line.debugDescription)")
            #expect(!line.unicodeScalars.contains("\u{202E}"))
        }
        #expect(lines.contains { $0.hasPrefix("evil[2J]0;owned31mjobx") })
        #expect(lines.contains { $0.contains("FAILING") })
        let plain = TopRender.summaryLine(state.jobs.values.first!, now: Self.now)
        #expect(Self.clean(plain) && plain.contains("job=evil[2J]0;owned31mjobx "))
        #expect(TopRender.sanitize("a\u{1B}b\u{7F}c\u{85}d") == "abcd")
    }

    @Test func agentsWorthALookComeWorstFirst() {
        let agents = [
            #"{"agent":"fast","state":"running","progress_ratio":0.9,"eta_seconds":10,"completed":1,"failed":0,"retries":0,"consecutive_failures":0,"last_seen_timestamp":\#(Self.now),"last_progress_timestamp":\#(Self.now)}"#,
            #"{"agent":"slow","state":"running","progress_ratio":0.1,"eta_seconds":900,"completed":1,"failed":0,"retries":0,"consecutive_failures":0,"last_seen_timestamp":\#(Self.now),"last_progress_timestamp":\#(Self.now)}"#,
            #"{"agent":"stuck","state":"running","completed":1,"failed":0,"retries":0,"consecutive_failures":0,"last_seen_timestamp":\#(Self.now),"last_progress_timestamp":\#(Self.now - 600)}"#,
            #"{"agent":"broken","state":"retrying","completed":1,"failed":3,"retries":3,"consecutive_failures":3,"last_seen_timestamp":\#(Self.now)}"#,
            #"{"agent":"done","state":"completed","completed":4,"failed":0,"retries":0,"consecutive_failures":0,"last_seen_timestamp":\#(Self.now)}"#,
        ]
        let state = Self.state(jobs: [Self.jobJSON(#""j""#, finished: 5, planned: 10)], agents: agents, agentJob: "j")
        let order = TopRender.troubledAgents(state, now: Self.now).map { $0.agent.agent }
        #expect(order == ["broken", "stuck", "slow", "fast"])
        let lines = TopRender.screen(state, width: 100, height: 30, now: Self.now, source: "u")
        #expect(lines.contains { $0.hasPrefix("stuck") && $0.hasSuffix("STALLED") })
    }

    @Test func aResetHelloDropsWhatWasHeldAndRemovedJobsGo() {
        var state = Self.state(jobs: [Self.jobJSON(#""a""#, finished: 1, planned: 2), Self.jobJSON(#""b""#, finished: 1, planned: 2)])
        state.apply(event: "jobs", data: Data(#"{"sequence":6,"jobs":[],"removed":["a"]}"#.utf8))
        #expect(Set(state.jobs.keys) == ["b"])
        state.apply(event: "hello", data: Data(#"{"instance":"y","sequence":0,"reset":true,"job":null}"#.utf8))
        #expect(state.jobs.isEmpty)
        let garbage = state.apply(event: "jobs", data: Data("not json".utf8))
        #expect(!garbage)
    }

    /// The end of a healthy job waits on its last items too: how long without progress is said only
    /// when an item is stalled or quiet for a minute or more.
    @Test func waitingOnAHealthyItemSaysNoQuietTime() throws {
        let json = { (seconds: Double, stalled: Bool) in
            #"{"job":"j","finished":9,"planned":10,"waiting_on":[{"agent":"a0","item":"last","no_progress_seconds":\#(seconds),"stalled":\#(stalled)}]}"#
        }
        let healthy = try JSONDecoder().decode(JobSummary.self, from: Data(json(0.4, false).utf8))
        #expect(TopRender.waiting(healthy) == "waiting on a0 (last)")
        let quiet = try JSONDecoder().decode(JobSummary.self, from: Data(json(75, false).utf8))
        #expect(TopRender.waiting(quiet) == "waiting on a0 (last, no progress for 1m15s)")
        let stalled = try JSONDecoder().decode(JobSummary.self, from: Data(json(20, true).utf8))
        #expect(TopRender.waiting(stalled) == "waiting on a0 (last, no progress for 20s)")
    }

    @Test func durations() {
        #expect(TopRender.duration(45) == "45s")
        #expect(TopRender.duration(80) == "1m20s")
        #expect(TopRender.duration(7800) == "2h10m")
        #expect(TopRender.duration(nil) == "-")
        #expect(TopRender.duration(.infinity) == "-")
        #expect(TopRender.bar(0.5, inner: 10) == "[#####.....]")
        #expect(TopRender.bar(2, inner: 4) == "[####]")
        #expect(TopRender.bar(nil, inner: 3) == "[...]")
    }
}
