import CCurl
import Clocks
import Synchronization

/// The program's one HTTP client: libcurl's multi interface, run on the calling thread.
///
/// `perform` starts every request at once and returns when each has ended. While it waits it sleeps
/// in `curl_multi_poll` (poll(2) on the transfers' sockets, libcurl's own timers, and the caller's
/// stop descriptor), so a server that accepts and never answers costs no CPU until a timeout.
/// `cancel()` wakes it from any thread. Used by alert delivery, the SSE event source, `top`,
/// `export --url` and `simulate --url`.
public final class HTTPClient: Sendable {
    /// Whether `cancel()` was called, and the multi handle of the transfer under way (its address, for
    /// `curl_multi_wakeup`, which libcurl allows from any thread). `perform` clears the address under
    /// this lock before it frees the handle, so a wakeup never reaches a freed one.
    private let state = Mutex<(cancelled: Bool, active: UInt?)>((false, nil))

    public init() {
        _ = Self.globalInit
    }

    /// `curl_global_init`, once per process before the first handle (a Swift `static let` runs once,
    /// thread-safely): the only call in the program.
    private static let globalInit: CURLcode = curl_global_init(Int(CURL_GLOBAL_DEFAULT))

    /// Ends the transfers under way at once (as `.cancelled`) and makes every later `perform` end so.
    public func cancel() {
        state.withLock { state in
            state.cancelled = true
            if let active = state.active, let multi = UnsafeMutableRawPointer(bitPattern: active) { curl_multi_wakeup(multi) }
        }
    }

    public var isCancelled: Bool { state.withLock { $0.cancelled } }

    /// Runs every request with its receiver, all at once, and returns how each ended. `stopDescriptor`
    /// (a pipe's read end) wakes the wait when readable; `shouldStop` is asked after each wake, and true
    /// ends what is still under way as `.cancelled`. `onWake` is called after each wait (a silent server
    /// must not wake it often).
    public func perform(
        _ transfers: [(request: HTTPClientRequest, receiver: any HTTPResponseReceiver)],
        stopDescriptor: Int32? = nil, shouldStop: () -> Bool = { false }, onWake: () -> Void = {}
    ) -> [HTTPTransferEnd] {
        guard !transfers.isEmpty else { return [] }
        guard let multi = curl_multi_init() else {
            return transfers.map { _ in .failed(code: Int(CURLE_FAILED_INIT.rawValue), reason: "libcurl could not start a transfer") }
        }
        let registered = state.withLock { state in
            guard !state.cancelled else { return false }
            state.active = UInt(bitPattern: multi)
            return true
        }
        guard registered else {
            curl_multi_cleanup(multi)
            return transfers.map { _ in .cancelled }
        }
        defer {
            state.withLock { $0.active = nil }
            curl_multi_cleanup(multi)
        }

        var ends = [HTTPTransferEnd?](repeating: nil, count: transfers.count)
        var running: [Transfer] = []
        for (index, transfer) in transfers.enumerated() {
            switch Transfer.make(transfer.request, receiver: transfer.receiver, index: index) {
            case .ready(let made):
                curl_multi_add_handle(multi, made.easy)
                running.append(made)
            case .refused(let end):
                ends[index] = end
            }
        }
        defer {
            for transfer in running {
                curl_multi_remove_handle(multi, transfer.easy)
                transfer.free()
            }
        }

        var stillRunning: Int32 = 0
        while true {
            withExtendedLifetime(running) { _ = curl_multi_perform(multi, &stillRunning) }
            var left: Int32 = 0
            while let message = curl_multi_info_read(multi, &left) {
                guard message.pointee.msg == CURLMSG_DONE,
                      let transfer = running.first(where: { $0.easy == message.pointee.easy_handle })
                else { continue }
                ends[transfer.index] = transfer.end(pe_curl_message_result(message))
            }
            let now = MonotonicClock().now()
            for transfer in running where ends[transfer.index] == nil {
                if let idle = transfer.request.idleTimeout, now - transfer.box.lastActivity >= idle {
                    ends[transfer.index] = .idle
                    curl_multi_remove_handle(multi, transfer.easy)
                }
            }
            if !ends.contains(where: { $0 == nil }) { break }
            if isCancelled || shouldStop() {
                for index in ends.indices where ends[index] == nil { ends[index] = .cancelled }
                break
            }
            // Sleeps until a socket is ready, libcurl's next timer, `cancel()`, the stop descriptor or the
            // nearest idle deadline; one second at most, as a bound in case a wakeup were ever missed.
            var wait = 1000.0
            for transfer in running where ends[transfer.index] == nil {
                if let idle = transfer.request.idleTimeout {
                    wait = min(wait, max(1, (transfer.box.lastActivity + idle - now) * 1000))
                }
            }
            if let stopDescriptor {
                var extra = curl_waitfd(fd: stopDescriptor, events: Int16(CURL_WAIT_POLLIN), revents: 0)
                curl_multi_poll(multi, &extra, 1, Int32(wait), nil)
            } else {
                curl_multi_poll(multi, nil, 0, Int32(wait), nil)
            }
            onWake()
        }
        return ends.map { $0 ?? .failed(code: Int(CURLE_FAILED_INIT.rawValue), reason: "no outcome from libcurl") }
    }

    /// One request, its answer read whole (at most `limit` bytes of body: a longer one fails), and how
    /// it ended.
    public func fetch(_ request: HTTPClientRequest, limit: Int) -> (response: CollectedResponse, end: HTTPTransferEnd) {
        let response = CollectedResponse(limit: limit)
        let end = perform([(request, response)])[0]
        return (response, end)
    }

    /// The URL without user info, query or fragment, which may carry credentials: safe for logs.
    public static func redacted(_ url: String) -> String {
        var text = Substring(url)
        if let cut = text.firstIndex(where: { $0 == "?" || $0 == "#" }) { text = text[..<cut] }
        guard let scheme = text.range(of: "://") else { return String(text) }
        let authorityEnd = text[scheme.upperBound...].firstIndex(of: "/") ?? text.endIndex
        if let at = text[scheme.upperBound..<authorityEnd].lastIndex(of: "@") {
            return String(text[..<scheme.upperBound] + text[text.index(after: at)...])
        }
        return String(text)
    }
}

/// What libcurl's callbacks reach for one transfer: the receiver, the easy handle (for the status) and
/// when a byte last came. Used only on the thread running `perform`.
private final class TransferBox {
    let receiver: any HTTPResponseReceiver
    var easy: UnsafeMutableRawPointer?
    var lastActivity = MonotonicClock().now()
    var endedByReceiver = false

    init(receiver: any HTTPResponseReceiver) { self.receiver = receiver }

    var status: Int { easy.map { pe_curl_response_code($0) } ?? 0 }

    static let headerCallback: pe_curl_data_callback = { data, size, count, context in
        let total = size * count
        guard let data, let context else { return total }
        let box = Unmanaged<TransferBox>.fromOpaque(context).takeUnretainedValue()
        box.lastActivity = MonotonicClock().now()
        guard box.receiver.headerLine(UnsafeRawBufferPointer(start: data, count: total), status: box.status) else {
            box.endedByReceiver = true
            return 0
        }
        return total
    }

    static let bodyCallback: pe_curl_data_callback = { data, size, count, context in
        let total = size * count
        guard let data, let context, total > 0 else { return total }
        let box = Unmanaged<TransferBox>.fromOpaque(context).takeUnretainedValue()
        box.lastActivity = MonotonicClock().now()
        // Returning less than `total` makes libcurl end the transfer.
        guard box.receiver.body(UnsafeRawBufferPointer(start: data, count: total)) else {
            box.endedByReceiver = true
            return 0
        }
        return total
    }
}

/// One easy handle with what it owns.
private struct Transfer {
    let index: Int
    let request: HTTPClientRequest
    let easy: UnsafeMutableRawPointer
    let headers: UnsafeMutablePointer<curl_slist>?
    let box: TransferBox

    /// A transfer ready to run, or how it ended before it could start.
    enum Made {
        case ready(Transfer)
        case refused(HTTPTransferEnd)
    }

    static func make(_ request: HTTPClientRequest, receiver: any HTTPResponseReceiver, index: Int) -> Made {
        guard let easy = curl_easy_init() else {
            return .refused(.failed(code: Int(CURLE_FAILED_INIT.rawValue), reason: "libcurl could not start a transfer"))
        }
        var headers: UnsafeMutablePointer<curl_slist>?
        // No `Expect: 100-continue` round trip before a body.
        for line in request.headers + (request.method == .post ? ["Expect:"] : []) { headers = curl_slist_append(headers, line) }
        let box = TransferBox(receiver: receiver)
        box.easy = easy
        let transfer = Transfer(index: index, request: request, easy: easy, headers: headers, box: box)

        var code = pe_curl_setopt_string(easy, CURLOPT_URL, request.url)
        var settings: [(CURLoption, Int)] = [
            // No signals from libcurl's resolver or timeouts: this is a multi-threaded process.
            (CURLOPT_NOSIGNAL, 1),
            (CURLOPT_CONNECTTIMEOUT_MS, max(1, Int(request.connectTimeout * 1000))),
            (CURLOPT_FOLLOWLOCATION, request.maxRedirects > 0 ? 1 : 0),
            (CURLOPT_MAXREDIRS, max(0, request.maxRedirects)),
        ]
        if let timeout = request.timeout { settings.append((CURLOPT_TIMEOUT_MS, max(1, Int(timeout * 1000)))) }
        if request.tcpKeepAlive { settings.append((CURLOPT_TCP_KEEPALIVE, 1)) }
        for (option, value) in settings where code == CURLE_OK { code = pe_curl_setopt_long(easy, option, value) }
        if code == CURLE_OK { code = pe_curl_setopt_string(easy, CURLOPT_PROTOCOLS_STR, "http,https") }
        if code == CURLE_OK { code = pe_curl_setopt_string(easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") }
        if code == CURLE_OK { code = pe_curl_setopt_string(easy, CURLOPT_USERAGENT, request.userAgent) }
        if code == CURLE_OK { code = pe_curl_setopt_headers(easy, headers) }
        let context = Unmanaged.passUnretained(box).toOpaque()
        if code == CURLE_OK { code = pe_curl_set_write_callback(easy, TransferBox.bodyCallback, context) }
        if code == CURLE_OK { code = pe_curl_set_header_callback(easy, TransferBox.headerCallback, context) }
        if code == CURLE_OK, request.method == .post {
            let body = request.body.isEmpty ? [0] : request.body
            let count = request.body.count
            code = body.withUnsafeBytes { bytes in
                pe_curl_set_body(easy, bytes.baseAddress!.assumingMemoryBound(to: CChar.self), curl_off_t(count))
            }
        }
        guard code == CURLE_OK else {
            transfer.free()
            return .refused(.failed(code: Int(code.rawValue), reason: "libcurl refused the request: " + String(cString: curl_easy_strerror(code))))
        }
        return .ready(transfer)
    }

    func end(_ result: CURLcode) -> HTTPTransferEnd {
        if box.endedByReceiver { return .endedByReceiver(status: box.status) }
        if result == CURLE_OK { return .completed(status: box.status) }
        if result == CURLE_OPERATION_TIMEDOUT { return .timedOut }
        return .failed(code: Int(result.rawValue), reason: String(cString: curl_easy_strerror(result)))
    }

    func free() {
        curl_easy_cleanup(easy)
        curl_slist_free_all(headers)
    }
}

extension HTTPTransferEnd {
    /// libcurl could not use the URL at all (malformed, or a scheme other than http and https): trying
    /// again cannot help.
    public var urlIsUnusable: Bool {
        guard case .failed(let code, _) = self else { return false }
        return code == Int(CURLE_URL_MALFORMAT.rawValue) || code == Int(CURLE_UNSUPPORTED_PROTOCOL.rawValue)
    }
}
