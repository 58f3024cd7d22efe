import Foundation
import MicroHTTP
import Tracking

/// POST /events: a native NDJSON body (or JSON array), applied before the answer is sent.
struct EventsEndpoint: Sendable {
    let ingestor: Ingestor
    let bearerToken: BearerToken?
    /// With `--storage.journal`: bodies are made durable before they are applied.
    var journal: Journal? = nil

    func handle(_ request: HTTPRequest) -> HTTPResponse {
        if let bearerToken, !bearerToken.isPresented(in: request.header("authorization")) {
            return Self.unauthorized
        }
        let batch = ingestor.decodeNative(request.body)
        let outcome: Ingestor.Outcome
        if let journal, batch.accepted > 0 {
            // Durable first, applied second: a 503 here means nothing was applied or kept.
            do {
                let arrived = ingestor.now()
                outcome = try journal.commit(source: "http", body: request.body, arrived: arrived) { position in
                    ingestor.apply(batch, source: "http", positions: [position], arrivedAt: arrived)
                }
            } catch {
                return .json(Self.summary(batch.outcome, error: "the events could not be made durable (\(error)); nothing was applied: send them again"), status: 503)
                    .adding(header: "Retry-After", "1")
            }
        } else {
            outcome = ingestor.apply(batch, source: "http")
        }
        // Events another shard owns were read fine: only a body with nothing readable is a 400.
        if outcome.accepted == 0 && outcome.ignored == 0 {
            let why = outcome.rejected == 0 ? "the body holds no event" : "no line of the body could be read"
            return .json(Self.summary(outcome, error: why), status: 400)
        }
        return .json(Self.summary(outcome, error: nil), status: 202)
    }

    static let unauthorized = HTTPResponse.json(#"{"error":"missing or wrong bearer token"}"#, status: 401)
        .adding(header: "WWW-Authenticate", "Bearer")

    /// `{"accepted": n, "rejected": m, "ignored": k, "rejections": [{"line", "reason", "detail"}]}`.
    static func summary(_ outcome: Ingestor.Outcome, error: String?) -> [UInt8] {
        struct Rejection: Encodable { let line: Int; let reason: String; let detail: String }
        struct Summary: Encodable {
            let accepted: Int
            let rejected: Int
            let ignored: Int
            let rejections: [Rejection]
            let error: String?
        }
        let summary = Summary(
            accepted: outcome.accepted, rejected: outcome.rejected, ignored: outcome.ignored,
            rejections: outcome.rejections.map { Rejection(line: $0.line, reason: $0.error.reason.rawValue, detail: $0.error.detail) },
            error: error)
        return Array((try? JSONEncoder.api.encode(summary)) ?? Data("{}".utf8))
    }
}

extension JSONEncoder {
    /// The encoder of every JSON answer: sorted keys, so answers are stable and diffable.
    static var api: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}
