import Clocks
import Foundation
import HTTPClient

/// POSTs JSON through the one HTTP client on the calling worker thread, blocking until every answer is in,
/// the timeout passes or `cancel()` is called. A receiver that accepts the connection and never answers costs
/// no CPU until the timeout.
final class JSONPoster: Sendable {
    /// One POST: where, and what.
    struct Request: Sendable {
        var url: URL
        var body: Data
    }

    /// Seconds a POST may take in all: connecting, sending, waiting for and reading the answer.
    let timeout: Double
    /// Seconds the TCP (and TLS) connection may take; at most `timeout`.
    let connectTimeout: Double
    private let authorization: HTTPAuthorization?
    /// Unix seconds, to read a `Retry-After` date.
    private let now: @Sendable () -> Double
    private let client = HTTPClient()

    init(
        timeout: Double, connectTimeout: Double = 10, authorization: HTTPAuthorization? = nil,
        now: @escaping @Sendable () -> Double = { WallClock().now() }
    ) {
        self.now = now
        self.timeout = timeout
        self.connectTimeout = min(timeout, connectTimeout)
        self.authorization = authorization
    }

    /// Ends a transfer under way at once (it fails as retryable) and makes every later `post` fail at once: for
    /// shutdown, when the grace for deliveries in flight is over.
    func cancel() { client.cancel() }

    var isCancelled: Bool { client.isCancelled }

    /// Sends every request at once (several Alertmanagers, several webhook groups) and returns one outcome each,
    /// nil meaning delivered.
    func post(_ requests: [Request]) -> [DeliveryError?] {
        var headers = ["Content-Type: application/json"]
        if let authorization { headers.append("Authorization: \(authorization.headerValue)") }
        let transfers = requests.map { request in
            var transfer = HTTPClientRequest(.post, url: request.url.absoluteString, headers: headers, body: Array(request.body), timeout: timeout)
            transfer.connectTimeout = connectTimeout
            // The first bytes of the answer are enough for an error message; the rest is read and dropped.
            return (request: transfer, receiver: CollectedResponse(limit: 256, keepsReading: true))
        }
        let ends = client.perform(transfers.map { ($0.request, $0.receiver as any HTTPResponseReceiver) })
        return zip(requests, zip(transfers, ends)).map { request, pair in
            outcome(pair.1, answer: pair.0.receiver, endpoint: Self.endpoint(request.url))
        }
    }

    private func outcome(_ end: HTTPTransferEnd, answer: CollectedResponse, endpoint: String) -> DeliveryError? {
        guard case .completed(let status) = end else {
            return DeliveryClassification.transportFailure(end, endpoint: endpoint, timeout: timeout)
        }
        // libcurl takes a connection closed in the middle of the headers for an answer: it is not one.
        guard answer.headersComplete else {
            return DeliveryError(retryable: true, "\(endpoint): the answer was cut off before its headers ended")
        }
        var failure = DeliveryClassification.httpStatus(status, body: Data(answer.body), endpoint: endpoint)
        if failure?.retryable == true {
            failure?.retryAfter = DeliveryClassification.retryAfter(answer.field("retry-after"), now: now())
        }
        return failure
    }

    /// The URL without user info or query, so errors and logs never carry credentials.
    static func endpoint(_ url: URL) -> String {
        guard var components = URLComponents(url: url, resolvingAgainstBaseURL: false) else { return "receiver" }
        components.user = nil
        components.password = nil
        components.query = nil
        return components.string ?? "receiver"
    }
}
