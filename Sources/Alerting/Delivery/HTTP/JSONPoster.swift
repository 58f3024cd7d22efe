import CCurl
import Clocks
import Foundation
import Synchronization

/// POSTs JSON with libcurl's multi interface on the calling worker thread, blocking until every answer is in, the
/// timeout passes or `cancel()` is called.
///
/// While it waits it sleeps in `curl_multi_poll` (poll(2) on the transfers' sockets): a receiver that accepts the
/// connection and never answers costs no CPU until the timeout. `cancel()` wakes that poll from another thread.
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
    /// Whether `cancel()` was called, and the multi handle of the transfer under way (its address, for
    /// `curl_multi_wakeup`, which libcurl allows from any thread). The worker clears the address under this
    /// lock before it frees the handle, so a wakeup never reaches a freed one.
    private let state = Mutex<(cancelled: Bool, active: UInt?)>((false, nil))

    init(
        timeout: Double, connectTimeout: Double = 10, authorization: HTTPAuthorization? = nil,
        now: @escaping @Sendable () -> Double = { WallClock().now() }
    ) {
        self.now = now
        _ = Self.globalInit
        self.timeout = timeout
        self.connectTimeout = min(timeout, connectTimeout)
        self.authorization = authorization
    }

    /// `curl_global_init` once per process, before the first handle (a Swift `static let` runs once, thread-safely).
    private static let globalInit: CURLcode = curl_global_init(Int(CURL_GLOBAL_DEFAULT))

    /// Ends a transfer under way at once (it fails as retryable) and makes every later `post` fail at once: for
    /// shutdown, when the grace for deliveries in flight is over.
    func cancel() {
        state.withLock { state in
            state.cancelled = true
            if let active = state.active, let multi = UnsafeMutableRawPointer(bitPattern: active) { curl_multi_wakeup(multi) }
        }
    }

    var isCancelled: Bool { state.withLock { $0.cancelled } }

    /// Sends every request at once (several Alertmanagers, several webhook groups) and returns one outcome each,
    /// nil meaning delivered.
    func post(_ requests: [Request]) -> [DeliveryError?] {
        guard !requests.isEmpty else { return [] }
        guard let multi = curl_multi_init() else {
            return requests.map { DeliveryError(retryable: true, "\(Self.endpoint($0.url)): libcurl could not start a transfer") }
        }
        let registered = state.withLock { state in
            guard !state.cancelled else { return false }
            state.active = UInt(bitPattern: multi)
            return true
        }
        guard registered else {
            curl_multi_cleanup(multi)
            return requests.map { DeliveryError(retryable: true, "\(Self.endpoint($0.url)): cancelled at shutdown") }
        }
        defer {
            state.withLock { $0.active = nil }
            curl_multi_cleanup(multi)
        }

        var outcomes = [DeliveryError??](repeating: nil, count: requests.count)
        var transfers: [Transfer] = []
        for (index, request) in requests.enumerated() {
            switch Transfer.make(request, index: index, options: self) {
            case .success(let transfer):
                curl_multi_add_handle(multi, transfer.easy)
                transfers.append(transfer)
            case .failure(let error):
                outcomes[index] = .some(error)
            }
        }
        defer {
            for transfer in transfers {
                curl_multi_remove_handle(multi, transfer.easy)
                transfer.free()
            }
        }

        var running: Int32 = 0
        while true {
            curl_multi_perform(multi, &running)
            var left: Int32 = 0
            while let message = curl_multi_info_read(multi, &left) {
                guard message.pointee.msg == CURLMSG_DONE,
                      let transfer = transfers.first(where: { $0.easy == message.pointee.easy_handle })
                else { continue }
                outcomes[transfer.index] = .some(transfer.outcome(pe_curl_message_result(message), timeout: timeout, now: now()))
            }
            if running == 0 { break }
            if isCancelled {
                for transfer in transfers where outcomes[transfer.index] == nil {
                    outcomes[transfer.index] = .some(DeliveryError(retryable: true, "\(transfer.endpoint): cancelled at shutdown"))
                }
                break
            }
            // Sleeps until a socket is ready, libcurl's next timer (its own timeouts) or `cancel()`; one second
            // at most, as a bound in case a wakeup were ever missed.
            curl_multi_poll(multi, nil, 0, 1000, nil)
        }
        return outcomes.enumerated().map { index, outcome in
            outcome ?? DeliveryError(retryable: true, "\(Self.endpoint(requests[index].url)): no outcome from libcurl")
        }
    }

    /// The URL without user info or query, so errors and logs never carry credentials.
    static func endpoint(_ url: URL) -> String {
        guard var components = URLComponents(url: url, resolvingAgainstBaseURL: false) else { return "receiver" }
        components.user = nil
        components.password = nil
        components.query = nil
        return components.string ?? "receiver"
    }

    /// One easy handle with what it owns: the header list and the buffer for the answer's first bytes.
    private struct Transfer {
        let index: Int
        let endpoint: String
        let easy: UnsafeMutableRawPointer
        let headers: UnsafeMutablePointer<curl_slist>?
        let excerpt: UnsafeMutablePointer<pe_curl_excerpt>
        /// What the answer's header lines said; kept alive by this transfer while libcurl calls into it.
        let answer: AnswerHeaders

        static func make(_ request: Request, index: Int, options: JSONPoster) -> Result<Transfer, DeliveryError> {
            let endpoint = JSONPoster.endpoint(request.url)
            guard let easy = curl_easy_init() else {
                return .failure(DeliveryError(retryable: true, "\(endpoint): libcurl could not start a transfer"))
            }
            var headers: UnsafeMutablePointer<curl_slist>?
            var lines = ["Content-Type: application/json", "Expect:"]
            if let authorization = options.authorization { lines.append("Authorization: \(authorization.headerValue)") }
            for line in lines { headers = curl_slist_append(headers, line) }
            let excerpt = UnsafeMutablePointer<pe_curl_excerpt>.allocate(capacity: 1)
            excerpt.initialize(to: pe_curl_excerpt())
            let transfer = Transfer(index: index, endpoint: endpoint, easy: easy, headers: headers, excerpt: excerpt, answer: AnswerHeaders())

            var code = pe_curl_setopt_string(easy, CURLOPT_URL, request.url.absoluteString)
            let settings: [(CURLoption, Int)] = [
                // No signals from libcurl's resolver or timeouts: this is a multi-threaded process.
                (CURLOPT_NOSIGNAL, 1),
                (CURLOPT_TIMEOUT_MS, max(1, Int(options.timeout * 1000))),
                (CURLOPT_CONNECTTIMEOUT_MS, max(1, Int(options.connectTimeout * 1000))),
                (CURLOPT_FOLLOWLOCATION, 0),
            ]
            for (option, value) in settings where code == CURLE_OK { code = pe_curl_setopt_long(easy, option, value) }
            if code == CURLE_OK { code = pe_curl_setopt_string(easy, CURLOPT_PROTOCOLS_STR, "http,https") }
            if code == CURLE_OK { code = pe_curl_setopt_string(easy, CURLOPT_USERAGENT, "progress-exporter") }
            if code == CURLE_OK { code = pe_curl_setopt_headers(easy, headers) }
            if code == CURLE_OK { code = pe_curl_capture_excerpt(easy, excerpt) }
            if code == CURLE_OK {
                code = pe_curl_set_header_callback(easy, AnswerHeaders.callback, Unmanaged.passUnretained(transfer.answer).toOpaque())
            }
            if code == CURLE_OK {
                var body = request.body
                if body.isEmpty { body = Data([0]) }
                let count = request.body.count
                code = body.withUnsafeBytes { bytes in
                    pe_curl_set_body(easy, bytes.baseAddress!.assumingMemoryBound(to: CChar.self), curl_off_t(count))
                }
            }
            guard code == CURLE_OK else {
                transfer.free()
                return .failure(DeliveryClassification.transportFailure(code, endpoint: endpoint))
            }
            return .success(transfer)
        }

        func outcome(_ result: CURLcode, timeout: Double, now: Double) -> DeliveryError? {
            guard result == CURLE_OK else {
                if result == CURLE_OPERATION_TIMEDOUT {
                    return DeliveryError(retryable: true, "\(endpoint): timed out after \(timeout) s")
                }
                return DeliveryClassification.transportFailure(result, endpoint: endpoint)
            }
            // libcurl takes a connection closed in the middle of the headers for an answer: it is not one.
            guard answer.complete else {
                return DeliveryError(retryable: true, "\(endpoint): the answer was cut off before its headers ended")
            }
            let body = withUnsafeBytes(of: excerpt.pointee.bytes) { Data($0.prefix(excerpt.pointee.length)) }
            var failure = DeliveryClassification.httpStatus(pe_curl_response_code(easy), body: body, endpoint: endpoint)
            if failure?.retryable == true {
                failure?.retryAfter = DeliveryClassification.retryAfter(answer.retryAfter, now: now)
            }
            return failure
        }

        func free() {
            curl_easy_cleanup(easy)
            curl_slist_free_all(headers)
            excerpt.deinitialize(count: 1)
            excerpt.deallocate()
        }
    }
}

/// The header lines of one answer as libcurl hands them over: whether the header block ended (the empty
/// line) and its `Retry-After`. Read and written only on the thread running the transfer.
private final class AnswerHeaders {
    private(set) var complete = false
    private(set) var retryAfter: String?

    func take(_ line: UnsafeRawBufferPointer) {
        let text = String(decoding: line.prefix(256), as: UTF8.self)
        if text.hasPrefix("HTTP/") {
            // A new answer (an interim 1xx came first): what the last one said no longer counts.
            complete = false
            retryAfter = nil
        } else if text == "\r\n" || text == "\n" {
            complete = true
        } else if let colon = text.firstIndex(of: ":"), text[..<colon].lowercased() == "retry-after" {
            retryAfter = text[text.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }

    static let callback: pe_curl_data_callback = { data, size, count, context in
        let total = size * count
        guard let data, let context else { return total }
        Unmanaged<AnswerHeaders>.fromOpaque(context).takeUnretainedValue().take(UnsafeRawBufferPointer(start: data, count: total))
        return total
    }
}
