import CCurl
import EventSources
import Foundation

/// HTTP for `progress-exporter top`, through libcurl: one GET read whole (`--once`), and the event
/// stream read as it arrives, event by event.
enum TopClient {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    private static let globalInit: CURLcode = curl_global_init(Int(CURL_GLOBAL_DEFAULT))

    /// The exporter's base URL with `path` (and `query`) appended; the job name percent-encoded.
    static func url(_ base: String, _ path: String, job: String? = nil, query: Bool = false) -> String {
        var text = base
        while text.hasSuffix("/") { text.removeLast() }
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        let encoded = job.map { $0.addingPercentEncoding(withAllowedCharacters: allowed) ?? "" }
        if query {
            return text + path + (encoded.map { "?job=" + $0 } ?? "")
        }
        return text + path.replacingOccurrences(of: "{job}", with: encoded ?? "")
    }

    /// What the write callback feeds: the whole body, or an event-stream parser.
    private final class Sink {
        var body: [UInt8] = []
        let limit: Int
        let onBytes: ((UnsafeRawBufferPointer) -> Bool)?

        init(limit: Int, onBytes: ((UnsafeRawBufferPointer) -> Bool)?) {
            self.limit = limit
            self.onBytes = onBytes
        }
    }

    /// Runs one transfer on the calling thread. `onBytes` returning false ends it early (as a write error).
    private static func transfer(_ url: String, timeout: Int?, sink: Sink) -> (CURLcode, Int) {
        _ = globalInit
        guard let easy = curl_easy_init() else { return (CURLE_FAILED_INIT, 0) }
        defer { curl_easy_cleanup(easy) }
        var code = pe_curl_setopt_string(easy, CURLOPT_URL, url)
        var settings: [(CURLoption, Int)] = [
            (CURLOPT_NOSIGNAL, 1),
            (CURLOPT_CONNECTTIMEOUT_MS, 5000),
            (CURLOPT_FOLLOWLOCATION, 0),
            (CURLOPT_FAILONERROR, 1),
        ]
        if let timeout {
            settings.append((CURLOPT_TIMEOUT_MS, timeout * 1000))
        } else {
            // The stream sends a keepalive comment after 15 s of silence: 40 s without a byte is a lost connection.
            settings.append((CURLOPT_LOW_SPEED_LIMIT, 1))
            settings.append((CURLOPT_LOW_SPEED_TIME, 40))
        }
        for (option, value) in settings where code == CURLE_OK { code = pe_curl_setopt_long(easy, option, value) }
        if code == CURLE_OK { code = pe_curl_setopt_string(easy, CURLOPT_PROTOCOLS_STR, "http,https") }
        if code == CURLE_OK { code = pe_curl_setopt_string(easy, CURLOPT_USERAGENT, "progress-exporter-top") }
        let context = Unmanaged.passUnretained(sink).toOpaque()
        if code == CURLE_OK {
            code = pe_curl_set_writer(easy, { data, size, count, context in
                let total = size * count
                guard let context else { return 0 }
                let sink = Unmanaged<Sink>.fromOpaque(context).takeUnretainedValue()
                let bytes = UnsafeRawBufferPointer(start: data, count: total)
                if let onBytes = sink.onBytes { return onBytes(bytes) ? total : 0 }
                guard sink.body.count + total <= sink.limit else { return 0 }
                sink.body.append(contentsOf: bytes)
                return total
            }, context)
        }
        if code == CURLE_OK { code = withExtendedLifetime(sink) { curl_easy_perform(easy) } }
        return (code, pe_curl_response_code(easy))
    }

    static func describe(_ code: CURLcode, status: Int) -> String {
        if code == CURLE_HTTP_RETURNED_ERROR { return "HTTP status \(status)" }
        return String(cString: curl_easy_strerror(code))
    }

    /// GET, the whole body (at most 64 MiB), within 10 s.
    static func get(_ url: String) throws -> Data {
        let sink = Sink(limit: 64 << 20, onBytes: nil)
        let (code, status) = transfer(url, timeout: 10, sink: sink)
        guard code == CURLE_OK else { throw Failure(description: "\(url): \(describe(code, status: status))") }
        return Data(sink.body)
    }

    /// Reads an event stream until it ends or `onEvent` returns false; returns why it ended.
    static func stream(_ url: String, onEvent: @escaping (String, Data) -> Bool) -> String {
        // The exporter's own stream: its events are far below 64 MiB.
        var parser = ServerSentEventParser(maxLineBytes: 64 << 20)
        var going = true
        let sink = Sink(limit: 0) { bytes in
            parser.feed(bytes.assumingMemoryBound(to: UInt8.self)) { dispatch in
                guard going, case .event(let event) = dispatch else { return }
                going = onEvent(event.type.isEmpty ? "message" : String(decoding: event.type, as: UTF8.self), Data(event.data))
            }
            return going
        }
        let (code, status) = transfer(url, timeout: nil, sink: sink)
        return code == CURLE_OK ? "the stream ended" : describe(code, status: status)
    }
}
