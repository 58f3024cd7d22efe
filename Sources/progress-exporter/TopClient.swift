import EventSources
import Foundation
import HTTPClient

/// HTTP for `progress-exporter top`, through the one HTTP client: one GET read whole (`--once`), and the event
/// stream read as it arrives, event by event.
enum TopClient {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

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

    /// An event stream read as it arrives, handed to a parser.
    private final class StreamReader: HTTPResponseReceiver {
        let onBytes: (UnsafeRawBufferPointer) -> Bool
        var status = 0

        init(onBytes: @escaping (UnsafeRawBufferPointer) -> Bool) { self.onBytes = onBytes }

        func headerLine(_ line: UnsafeRawBufferPointer, status: Int) -> Bool {
            self.status = status
            return true
        }

        func body(_ bytes: UnsafeRawBufferPointer) -> Bool {
            // An error page is not a stream.
            guard status == 200 else { return false }
            return onBytes(bytes)
        }
    }

    private static func request(_ url: String, timeout: Double?) -> HTTPClientRequest {
        var request = HTTPClientRequest(.get, url: url, timeout: timeout)
        request.connectTimeout = 5
        request.userAgent = "progress-exporter-top"
        request.maxRedirects = 5
        // The stream sends a keepalive comment after 15 s of silence: 40 s without a byte is a lost connection.
        if timeout == nil { request.idleTimeout = 40 }
        return request
    }

    /// GET, the whole body (at most 64 MiB), within 10 s.
    static func get(_ url: String) throws -> Data {
        let (response, end) = HTTPClient().fetch(request(url, timeout: 10), limit: 64 << 20)
        guard case .completed(200) = end else {
            throw Failure(description: "\(url): \(response.tooLarge ? "the answer is over 64 MiB" : end.reason)")
        }
        return Data(response.body)
    }

    /// Reads an event stream until it ends or `onEvent` returns false; returns why it ended.
    static func stream(_ url: String, onEvent: @escaping (String, Data) -> Bool) -> String {
        // The exporter's own stream: its events are far below 64 MiB.
        var parser = ServerSentEventParser(maxLineBytes: 64 << 20)
        var going = true
        let reader = StreamReader { bytes in
            parser.feed(bytes.assumingMemoryBound(to: UInt8.self)) { dispatch in
                guard going, case .event(let event) = dispatch else { return }
                going = onEvent(event.type.isEmpty ? "message" : String(decoding: event.type, as: UTF8.self), Data(event.data))
            }
            return going
        }
        let end = HTTPClient().perform([(request(url, timeout: nil), reader)])[0]
        switch end {
        case .completed(200), .endedByReceiver(200): return "the stream ended"
        case .idle: return "no bytes for 40 s"
        default: return end.reason
        }
    }
}
