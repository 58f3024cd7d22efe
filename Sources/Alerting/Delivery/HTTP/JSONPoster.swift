import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Synchronization

/// POSTs JSON with URLSession from a worker thread, blocking until every answer is in or the timeout passes.
final class JSONPoster: Sendable {
    /// One POST: where, and what.
    struct Request: Sendable {
        var url: URL
        var body: Data
    }

    let timeout: Double
    private let authorization: HTTPAuthorization?
    private let session: URLSession

    init(timeout: Double, authorization: HTTPAuthorization? = nil) {
        self.timeout = timeout
        self.authorization = authorization
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout
        configuration.timeoutIntervalForResource = timeout
        configuration.urlCache = nil
        configuration.httpCookieStorage = nil
        session = URLSession(configuration: configuration)
    }

    deinit { session.invalidateAndCancel() }

    /// Sends every request at once (several Alertmanagers, several webhook groups) and returns one outcome each,
    /// nil meaning delivered.
    func post(_ requests: [Request]) -> [DeliveryError?] {
        let outcomes = Outcomes(count: requests.count)
        let tasks = requests.enumerated().map { index, request in
            let endpoint = Self.endpoint(request.url)
            let task = session.dataTask(with: urlRequest(request)) { data, response, error in
                let outcome: DeliveryError?
                if let error {
                    outcome = DeliveryClassification.transportFailure(error, endpoint: endpoint)
                } else if let http = response as? HTTPURLResponse {
                    outcome = DeliveryClassification.httpStatus(http.statusCode, body: data ?? Data(), endpoint: endpoint)
                } else {
                    outcome = DeliveryError(retryable: true, "\(endpoint): no HTTP response")
                }
                outcomes.set(index, outcome)
            }
            task.resume()
            return task
        }
        // URLSession's own timeout is an idle timeout on Linux; this is the hard bound a worker relies on.
        let deadline = DispatchTime.now() + timeout + 1
        for (index, task) in tasks.enumerated() where outcomes.wait(index, until: deadline) == false {
            task.cancel()
            outcomes.set(index, DeliveryError(retryable: true, "\(Self.endpoint(requests[index].url)): timed out after \(timeout) s"))
        }
        return outcomes.values
    }

    private func urlRequest(_ request: Request) -> URLRequest {
        var urlRequest = URLRequest(url: request.url, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: timeout)
        urlRequest.httpMethod = "POST"
        urlRequest.httpBody = request.body
        urlRequest.setValue("application/json", forHTTPHeaderField: "Content-Type")
        urlRequest.setValue("progress-exporter", forHTTPHeaderField: "User-Agent")
        if let authorization { urlRequest.setValue(authorization.headerValue, forHTTPHeaderField: "Authorization") }
        return urlRequest
    }

    /// The URL without user info or query, so errors and logs never carry credentials.
    static func endpoint(_ url: URL) -> String {
        guard var components = URLComponents(url: url, resolvingAgainstBaseURL: false) else { return "receiver" }
        components.user = nil
        components.password = nil
        components.query = nil
        return components.string ?? "receiver"
    }

    /// Where completion handlers on URLSession's queue leave their outcomes for the waiting worker.
    private final class Outcomes: Sendable {
        private let slots: Mutex<[DeliveryError??]>
        private let signals: [DispatchSemaphore]

        init(count: Int) {
            slots = Mutex(Array(repeating: nil, count: count))
            signals = (0..<count).map { _ in DispatchSemaphore(value: 0) }
        }

        /// Keeps the first outcome: a late answer after the timeout must not overwrite the timeout.
        func set(_ index: Int, _ outcome: DeliveryError?) {
            let first = slots.withLock { slots in
                guard slots[index] == nil else { return false }
                slots[index] = .some(outcome)
                return true
            }
            if first { signals[index].signal() }
        }

        func wait(_ index: Int, until deadline: DispatchTime) -> Bool {
            signals[index].wait(timeout: deadline) == .success
        }

        var values: [DeliveryError?] { slots.withLock { $0.map { $0 ?? nil } } }
    }
}
