import Events
import Foundation
import HTTPClient
import Tracking

/// What `progress-exporter export` writes: jobs, or the agents of jobs, as read from a running
/// exporter's /api/v1 or from a snapshot folder.
public struct JobExport: Sendable, Equatable {
    public var jobs: [JobSummary]
    /// Per job, in the jobs' order, when agents were asked for.
    public var agents: [(job: String, agents: [AgentSummary])]?
    /// Per job, in the jobs' order, when failures were asked for: every failure and dead-lettered item kept.
    public var failures: [JobFailures]?

    public init(jobs: [JobSummary], agents: [(job: String, agents: [AgentSummary])]? = nil, failures: [JobFailures]? = nil) {
        self.jobs = jobs
        self.agents = agents
        self.failures = failures
    }

    public static func == (a: JobExport, b: JobExport) -> Bool {
        a.jobs == b.jobs && a.agents?.map(\.job) == b.agents?.map(\.job) && a.agents?.map(\.agents) == b.agents?.map(\.agents)
            && a.failures == b.failures
    }

    /// What to export of the selected jobs.
    public enum Part: Sendable {
        case jobs, agents, failures
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        public init(_ description: String) { self.description = description }
    }

    // MARK: sources

    /// Reads a snapshot folder (`--storage.path`) as the exporter would restore it, with the clock
    /// at the time the snapshot was taken: the ETC is the one the exporter showed then.
    public static func fromSnapshot(folder: String, job: String?, agents: Bool) throws(Failure) -> JobExport {
        try fromSnapshot(folder: folder, job: job, part: agents ? .agents : .jobs)
    }

    public static func fromSnapshot(folder: String, job: String?, part: Part) throws(Failure) -> JobExport {
        var refusals: [String] = []
        guard let file = SnapshotFile.newest(in: folder, refused: { path, reason in refusals.append("\(path): \(reason)") }) else {
            throw Failure(refusals.isEmpty ? "\(folder): no snapshot (state.snap) in this folder" : refusals.joined(separator: "; "))
        }
        let store = ProgressStore(clock: ReplayClock(file.takenAt))
        do {
            try Ingestor(store: store, limits: DecoderLimits()).restore(from: file.store)
        } catch {
            throw Failure("\(folder): the snapshot's state cannot be read: \(error)")
        }
        if part == .failures {
            return try selectFailures(jobs: store.jobSummaries(), job: job) { id in
                JobFailures.all { cursor in store.failures(job: id, limit: JobFailures.maximumLimit, cursor: cursor) }
            }
        }
        return try select(jobs: store.jobSummaries(), job: job, agents: part == .agents) { id in store.agentSummaries(job: id) }
    }

    /// Reads a running exporter's /api/v1 (`base` is its URL, e.g. http://localhost:9465). Job ids
    /// go into paths percent-encoded, `/` included (a prodigy run is `<repo>/<run id>`).
    public static func fromURL(_ base: String, job: String?, agents: Bool, timeout: Double = 30) throws(Failure) -> JobExport {
        try fromURL(base, job: job, part: agents ? .agents : .jobs, timeout: timeout)
    }

    public static func fromURL(_ base: String, job: String?, part: Part, timeout: Double = 30) throws(Failure) -> JobExport {
        guard var root = URL(string: base), let scheme = root.scheme, ["http", "https"].contains(scheme), root.host != nil else {
            throw Failure("--url must be an http(s) URL of the exporter, e.g. http://localhost:9465, not \(base)")
        }
        if root.path.hasSuffix("/") { root = URL(string: String(base.dropLast()))! }
        struct Jobs: Decodable {
            let jobs: [JobSummary]
            let nextCursor: String?
            enum CodingKeys: String, CodingKey { case jobs; case nextCursor = "next_cursor" }
        }
        struct Agents: Decodable {
            let agents: [AgentSummary]
            let nextCursor: String?
            enum CodingKeys: String, CodingKey { case agents; case nextCursor = "next_cursor" }
        }
        // Page by page (at most 5,000 jobs an answer).
        var jobs: [JobSummary] = []
        var jobsCursor: String?
        repeat {
            let query = "?limit=5000" + (jobsCursor.map { "&cursor=" + $0 } ?? "")
            guard let page = try APIClient.get(root.absoluteString + "/api/v1/jobs" + query, as: Jobs.self, timeout: timeout).value else {
                throw Failure("\(root.absoluteString)/api/v1/jobs answered 404: not a progress-exporter")
            }
            jobs += page.jobs
            jobsCursor = page.nextCursor
        } while jobsCursor != nil
        func segment(_ id: String) -> String {
            id.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? id
        }
        if part == .failures {
            return try selectFailures(jobs: jobs, job: job) { (id: String) throws(Failure) -> JobFailures? in
                try JobFailures.all { (cursor: JobFailures.Cursor?) throws(Failure) -> JobFailures? in
                    let query = "?limit=\(JobFailures.maximumLimit)" + (cursor.map { "&cursor=\($0.text)" } ?? "")
                    return try APIClient.get(root.absoluteString + "/api/v1/jobs/\(segment(id))/failures" + query, as: JobFailures.self, timeout: timeout).value
                }
            }
        }
        return try select(jobs: jobs, job: job, agents: part == .agents) { (id: String) throws(Failure) -> [AgentSummary]? in
            // Page by page (the API answers at most 5,000 agents at a time).
            var all: [AgentSummary] = []
            var cursor: String?
            repeat {
                let query = "?limit=5000" + (cursor.map { "&cursor=" + $0 } ?? "")
                guard let page = try APIClient.get(root.absoluteString + "/api/v1/jobs/\(segment(id))/agents" + query, as: Agents.self, timeout: timeout).value else {
                    return all.isEmpty ? nil : all
                }
                all += page.agents
                cursor = page.nextCursor
            } while cursor != nil
            return all
        }
    }

    /// `--job` names no job: the nearest names, else the first few, so a typo is one look away.
    static func noJob(_ job: String, among all: [JobSummary]) -> Failure {
        let names = all.map(\.job)
        guard !names.isEmpty else { return Failure("no job \(job): the exporter has no jobs") }
        let nearest = NearestNames.suggestion(for: job, among: names)
        if !nearest.isEmpty { return Failure("no job \(job)\(nearest)") }
        let shown = names.sorted().prefix(5).joined(separator: ", ")
        let more = names.count > 5 ? " and \(names.count - 5) more" : ""
        return Failure("no job \(job); the \(names.count) job\(names.count == 1 ? " is" : "s are") \(shown)\(more)")
    }

    private static func selectFailures(jobs all: [JobSummary], job: String?, failuresOf: (String) throws(Failure) -> JobFailures?) throws(Failure) -> JobExport {
        var jobs = all
        if let job {
            jobs = all.filter { $0.job == job }
            guard !jobs.isEmpty else { throw noJob(job, among: all) }
        }
        var failures: [JobFailures] = []
        // A job forgotten between the two reads has no failures to list.
        for summary in jobs { if let list = try failuresOf(summary.job) { failures.append(list) } }
        return JobExport(jobs: jobs, failures: failures)
    }

    private static func select(
        jobs all: [JobSummary], job: String?, agents: Bool, agentsOf: (String) throws(Failure) -> [AgentSummary]?
    ) throws(Failure) -> JobExport {
        var jobs = all
        if let job {
            jobs = all.filter { $0.job == job }
            guard !jobs.isEmpty else { throw noJob(job, among: all) }
        }
        guard agents else { return JobExport(jobs: jobs) }
        var perJob: [(job: String, agents: [AgentSummary])] = []
        for summary in jobs {
            // A job forgotten between the two reads has no agents to list.
            guard let list = try agentsOf(summary.job) else { continue }
            perJob.append((summary.job, list))
        }
        return JobExport(jobs: jobs, agents: perJob)
    }

    // MARK: formats

    /// JSON: `{"jobs":[...]}` as /api/v1/jobs answers; with agents,
    /// `{"jobs":[{"job":...,"agents":[...]}]}` as /api/v1/jobs/{job}/agents answers, one per job.
    public func json() throws -> String {
        struct Jobs: Encodable { let jobs: [JobSummary] }
        struct JobAgents: Encodable { let job: String; let agents: [AgentSummary] }
        struct Agents: Encodable { let jobs: [JobAgents] }
        struct Failures: Encodable { let jobs: [JobFailures] }
        let data: Data
        if let failures {
            data = try JSONEncoder.api.encode(Failures(jobs: failures))
        } else if let agents {
            data = try JSONEncoder.api.encode(Agents(jobs: agents.map { JobAgents(job: $0.job, agents: $0.agents) }))
        } else {
            data = try JSONEncoder.api.encode(Jobs(jobs: jobs))
        }
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    static let jobColumns = [
        "job", "status", "planned", "finished", "remaining", "progress_ratio",
        "throughput_1m", "throughput_5m", "throughput_15m",
        "eta_seconds", "eta_lower_bound_seconds", "eta_upper_bound_seconds", "estimated_completion_timestamp",
        "completed", "failed", "dead_lettered", "retries",
    ] + AgentState.allCases.map { "agents_\($0.rawValue)" } + ["start_timestamp", "last_event_timestamp", "deadline"]

    static let agentColumns = [
        "job", "agent", "state", "item", "step", "progress_ratio", "eta_seconds", "completed", "failed", "retries",
        "consecutive_failures", "last_seen_timestamp", "last_progress_timestamp",
    ]

    /// CSV (RFC 4180): a header row, then one row per job (or per agent), lines ending in CRLF;
    /// absent values are empty fields.
    static let failureColumns = ["job", "kind", "timestamp", "agent", "item", "error", "retryable"]

    public func csv() -> String {
        var rows: [[String]] = []
        if let failures {
            rows.append(Self.failureColumns)
            for list in failures {
                for f in list.failures {
                    rows.append([CSV.text(list.job), "failed", Self.number(f.time), CSV.text(f.agent ?? ""), CSV.text(f.item ?? ""),
                                 CSV.text(f.error ?? ""), f.retryable.map { "\($0)" } ?? ""])
                }
                for d in list.deadLettered {
                    rows.append([CSV.text(list.job), "dead_lettered", Self.number(d.time), CSV.text(d.agent ?? ""), CSV.text(d.item ?? ""),
                                 CSV.text(d.error ?? ""), ""])
                }
            }
        } else if let agents {
            rows.append(Self.agentColumns)
            for (job, list) in agents {
                for a in list {
                    rows.append([
                        CSV.text(job), CSV.text(a.agent), a.state, CSV.text(a.item ?? ""), CSV.text(a.step ?? ""), Self.number(a.progressRatio), Self.number(a.etaSeconds),
                        "\(a.completed)", "\(a.failed)", "\(a.retries)", "\(a.consecutiveFailures)",
                        Self.number(a.lastSeen), Self.number(a.lastProgress),
                    ])
                }
            }
        } else {
            rows.append(Self.jobColumns)
            for j in jobs {
                var row = [
                    CSV.text(j.job), j.status, j.planned.map(String.init) ?? "", "\(j.finished)", j.remaining.map(String.init) ?? "",
                    Self.number(j.progressRatio),
                    Self.number(j.throughputByWindow["1m"]), Self.number(j.throughputByWindow["5m"]), Self.number(j.throughputByWindow["15m"]),
                    Self.number(j.etaSeconds), Self.number(j.etaLowerSeconds), Self.number(j.etaUpperSeconds), Self.number(j.estimatedCompletion),
                    "\(j.completed)", "\(j.failed)", "\(j.deadLettered)", "\(j.retries)",
                ]
                row += AgentState.allCases.map { "\(j.agents[$0.rawValue] ?? 0)" }
                row += [Self.number(j.startTime), Self.number(j.lastEventTime), Self.number(j.deadline)]
                rows.append(row)
            }
        }
        return rows.map(CSV.row).joined()
    }

    static func number(_ value: Double?) -> String {
        guard let value, value.isFinite else { return "" }
        return "\(value)"
    }
}

/// RFC 4180 fields and records.
public enum CSV {
    /// A field is quoted when it holds a quote, a comma, a CR or an LF (or starts or ends with a
    /// space, which some readers trim); quotes inside are doubled.
    public static func field(_ text: String) -> String {
        let needsQuotes = text.contains { $0 == "\"" || $0 == "," || $0 == "\n" || $0 == "\r" || $0 == "\r\n" }
            || text.first == " " || text.last == " "
        guard needsQuotes else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// Text from trackers (ids, steps, errors) as a spreadsheet may read it: a value beginning with
    /// `=`, `+`, `-`, `@`, a tab or a CR would be taken as a formula (CSV injection, OWASP), so it
    /// gets a leading `'`, which spreadsheets show as text and do not display. Numbers are not
    /// passed through here.
    public static func text(_ value: String) -> String {
        guard let first = value.unicodeScalars.first, "=+-@\t\r".unicodeScalars.contains(first) else { return value }
        return "'" + value
    }

    /// One record, ending in CRLF.
    public static func row(_ fields: [String]) -> String {
        fields.map(field).joined(separator: ",") + "\r\n"
    }
}

/// GET of a JSON answer through the one HTTP client, waited for.
enum APIClient {
    /// The decoded answer; nil value for 404 (an unknown job).
    static func get<T: Decodable>(_ url: String, as type: T.Type, timeout: Double) throws(JobExport.Failure) -> (value: T?, status: Int) {
        // `timeout` is for silence, as URLSession's was: a large page over a slow link may take longer.
        var request = HTTPClientRequest(.get, url: url, headers: ["Accept: application/json"], timeout: nil)
        request.idleTimeout = timeout
        // A proxy or a moved exporter may redirect, as URLSession followed before.
        request.maxRedirects = 5
        // A whole job's agents, one page of the API, fits well within this.
        let (response, end) = HTTPClient().fetch(request, limit: 256 << 20)
        guard case .completed(let status) = end else {
            throw JobExport.Failure("could not read \(url): \(response.tooLarge ? "the answer is over 256 MiB" : end.reason)")
        }
        let data = Data(response.body)
        if status == 404 { return (nil, status) }
        guard status == 200 else {
            throw JobExport.Failure("\(url) answered HTTP \(status): \(String(decoding: data.prefix(200), as: UTF8.self))")
        }
        do {
            return (try JSONDecoder().decode(T.self, from: data), status)
        } catch {
            throw JobExport.Failure("\(url): not the answer of a progress-exporter API: \(error)")
        }
    }
}
