import Foundation
import MicroHTTP
import Tracking

/// The JSON API under /api/v1 (documented in the README).
struct APIEndpoints: Sendable {
    let store: ProgressStore

    /// GET /api/v1/jobs: `{"jobs": [...]}`.
    func jobs(_ request: HTTPRequest) -> HTTPResponse {
        struct Jobs: Encodable { let jobs: [JobSummary] }
        return encode(Jobs(jobs: store.jobSummaries()))
    }

    /// GET /api/v1/jobs/:job/agents: `{"job": ..., "agents": [...]}`, 404 for an unknown job.
    func agents(_ request: HTTPRequest) -> HTTPResponse {
        struct Agents: Encodable { let job: String; let agents: [AgentSummary] }
        let job = request.pathParameters["job"] ?? ""
        guard let agents = store.agentSummaries(job: job) else {
            return .json(#"{"error":"no such job"}"#, status: 404)
        }
        return encode(Agents(job: job, agents: agents))
    }

    private func encode(_ value: some Encodable) -> HTTPResponse {
        do {
            return .json(Array(try JSONEncoder.api.encode(value)))
        } catch {
            return .json(#"{"error":"could not encode the answer"}"#, status: 500)
        }
    }
}
