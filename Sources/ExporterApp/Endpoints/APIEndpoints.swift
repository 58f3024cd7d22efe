import Foundation
import Alerting
import MicroHTTP
import Tracking

/// The JSON API under /api/v1 (documented in docs/api.md).
struct APIEndpoints: Sendable {
    let store: ProgressStore

    /// GET /api/v1/jobs: `{"jobs": [...], "total", "next_cursor"}`, by id, paged (`limit`, `cursor`).
    func jobs(_ request: HTTPRequest) -> HTTPResponse {
        struct Jobs: Encodable {
            let jobs: [JobSummary]
            let total: Int
            let nextCursor: String?
            enum CodingKeys: String, CodingKey { case jobs, total; case nextCursor = "next_cursor" }
        }
        let paging: PagedList
        do { paging = try PagedList(request.query, scope: "jobs") } catch { return Self.badRequest(error.message) }
        let all = store.jobSummaries().sorted { Array($0.job.utf8).lexicographicallyPrecedes(Array($1.job.utf8)) }
        let page = paging.page(all) { Array($0.job.utf8) }
        return encode(Jobs(jobs: page.items, total: page.total, nextCursor: page.next))
    }

    /// GET /api/v1/jobs/:job/agents: `{"job", "agents": [...], "total", "next_cursor"}` one page at a
    /// time (`limit`, `cursor`, `state`, `sort`); 404 for an unknown job, 400 for a bad parameter.
    func agents(_ request: HTTPRequest) -> HTTPResponse {
        struct Agents: Encodable {
            let job: String
            let agents: [AgentSummary]
            let total: Int
            let nextCursor: String?
            enum CodingKeys: String, CodingKey { case job, agents, total; case nextCursor = "next_cursor" }
        }
        let job = request.pathParameters["job"] ?? ""
        let query: AgentQuery
        do {
            query = try AgentListQuery.parse(request.query)
        } catch {
            return Self.badRequest(error.message)
        }
        guard let page = store.agentPage(job: job, query: query) else {
            return .json(#"{"error":"no such job"}"#, status: 404)
        }
        return encode(Agents(job: job, agents: page.agents, total: page.total, nextCursor: page.next.map { AgentListQuery.encode($0, for: query) }))
    }

    static func badRequest(_ message: String) -> HTTPResponse {
        struct Failure: Encodable { let error: String }
        let body: [UInt8] = (try? JSONEncoder.api.encode(Failure(error: message))).map { Array($0) } ?? Array(#"{"error":"bad request"}"#.utf8)
        return HTTPResponse.json(body, status: 400)
    }

    /// GET /api/v1/jobs/:job/history: `{"job", "interval_seconds", "points": [...]}`, 404 for an unknown job.
    func history(_ request: HTTPRequest) -> HTTPResponse {
        struct History: Encodable {
            let job: String
            let interval: Double
            let points: [JobHistoryPoint]
            enum CodingKeys: String, CodingKey { case job, points; case interval = "interval_seconds" }
        }
        let job = request.pathParameters["job"] ?? ""
        guard let history = store.history(job: job) else {
            return .json(#"{"error":"no such job"}"#, status: 404)
        }
        return encode(History(job: job, interval: history.interval, points: history.points))
    }

    /// GET /api/v1/jobs/:job/failures?limit=N&cursor=C: the job's newest failed attempts and
    /// dead-lettered items (at most `limit` of each, default 50, at most 500) and its failure reasons;
    /// `next_cursor` continues. 400 for a bad limit or cursor, 404 for an unknown job.
    func failures(_ request: HTTPRequest) -> HTTPResponse {
        let job = request.pathParameters["job"] ?? ""
        var limit = JobFailures.defaultLimit
        do {
            limit = try PagedList.limit(request.query, defaultLimit: JobFailures.defaultLimit, maxLimit: JobFailures.maximumLimit)
        } catch {
            return Self.badRequest(error.message)
        }
        var cursor: JobFailures.Cursor?
        if let text = request.query["cursor"] {
            guard let parsed = JobFailures.Cursor(text) else {
                return .json(#"{"error":"cursor is not one that next_cursor gave"}"#, status: 400)
            }
            cursor = parsed
        }
        guard let page = store.failures(job: job, limit: limit, cursor: cursor) else {
            return .json(#"{"error":"no such job"}"#, status: 404)
        }
        return encode(page)
    }

    /// GET /api/v1/alerts: pending and firing alerts, by `activeAt` then labels, paged (`limit`,
    /// `cursor`): `{"alerts": [...], "total", "next_cursor"}`.
    static func alerts(_ engine: AlertEngine, _ request: HTTPRequest) -> HTTPResponse {
        let paging: PagedList
        do { paging = try PagedList(request.query, scope: "alerts") } catch { return badRequest(error.message) }
        let keyed = engine.activeAlerts().map { (key: alertKey($0), alert: $0) }
            .sorted { $0.key.lexicographicallyPrecedes($1.key) }
        let page = paging.page(keyed) { $0.key }
        struct Alerts: Encodable {
            let alerts: [AlertJSON]
            let total: Int
            let nextCursor: String?
            enum CodingKeys: String, CodingKey { case alerts, total; case nextCursor = "next_cursor" }
        }
        return encode(Alerts(alerts: page.items.map { alertJSON($0.alert) }, total: page.total, nextCursor: page.next))
    }

    /// An alert's place in the list: its `activeAt` (as bytes that sort like the number) and labels.
    private static func alertKey(_ alert: AlertStateMachine.Active) -> [UInt8] {
        withUnsafeBytes(of: alert.activeAt.bitPattern.bigEndian) { Array($0) }
            + Array(alert.condition.labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "\u{0}").utf8)
    }

    private static func alertJSON(_ alert: AlertStateMachine.Active) -> AlertJSON {
        AlertJSON(labels: alert.condition.labels, annotations: alert.condition.annotations, state: alert.state.rawValue,
                  activeAt: alert.activeAt, firedAt: alert.firedAt, value: alert.condition.value)
    }

    /// One alert as /api/v1/alerts and the stream's `alerts` event show it.
    struct AlertJSON: Encodable {
        let labels: [String: String]
        let annotations: [String: String]
        let state: String
        let activeAt: Double
        let firedAt: Double?
        let value: Double
    }

    /// `{"alerts":[...]}`, with `"total"` and only the first `limit` alerts when there are more.
    static func alertsJSON(_ active: [AlertStateMachine.Active], limit: Int? = nil) -> [UInt8]? {
        struct Alerts: Encodable { let alerts: [AlertJSON]; let total: Int? }
        let shown = limit.map { Array(active.prefix($0)) } ?? active
        let alerts = shown.map(alertJSON)
        let total = shown.count < active.count ? active.count : nil
        return try? Array(JSONEncoder.api.encode(Alerts(alerts: alerts, total: total)))
    }

    private func encode(_ value: some Encodable) -> HTTPResponse { Self.encode(value) }

    private static func encode(_ value: some Encodable) -> HTTPResponse {
        do {
            return .json(Array(try JSONEncoder.api.encode(value)))
        } catch {
            return .json(#"{"error":"could not encode the answer"}"#, status: 500)
        }
    }
}
