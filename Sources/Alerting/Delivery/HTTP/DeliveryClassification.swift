import Foundation
import HTTPClient

/// The one place that decides what an HTTP answer means for delivery, as Alertmanager's `notify/util.go` does:
/// 2xx delivered; 5xx, 429, timeouts and connection errors worth retrying; any other answer final.
enum DeliveryClassification {
    /// How much of an error body a `DeliveryError` keeps: enough to show the receiver's reason, not a whole page.
    static let bodyExcerptLimit = 200

    /// nil when `status` means delivered.
    static func httpStatus(_ status: Int, body: Data, endpoint: String) -> DeliveryError? {
        if (200..<300).contains(status) { return nil }
        // 429 asks us to come back later; 408 is the server timing out our request. Neither is the payload's fault.
        let retryable = status >= 500 || status == 429 || status == 408
        var message = "\(endpoint) answered HTTP \(status)"
        let excerpt = excerpt(of: body)
        if !excerpt.isEmpty { message += ": \(excerpt)" }
        return DeliveryError(retryable: retryable, message, statusCode: status)
    }

    /// A request that got no HTTP answer: a malformed URL or a scheme other than http(s) is final, anything
    /// else (refused, reset, timed out, name not resolved, cancelled at shutdown) may pass.
    static func transportFailure(_ end: HTTPTransferEnd, endpoint: String, timeout: Double) -> DeliveryError {
        if end.urlIsUnusable { return DeliveryError(retryable: false, "\(endpoint): unusable URL (\(end.reason))") }
        switch end {
        case .timedOut: return DeliveryError(retryable: true, "\(endpoint): timed out after \(timeout) s")
        case .cancelled: return DeliveryError(retryable: true, "\(endpoint): cancelled at shutdown")
        case .failed(let code, let reason): return DeliveryError(retryable: true, "\(endpoint): \(reason) (curl error \(code))")
        default: return DeliveryError(retryable: true, "\(endpoint): \(end.reason)")
        }
    }

    /// `Retry-After` as seconds from `now`: delay-seconds, or an HTTP-date (RFC 9110 section 10.2.3); nil
    /// when absent or unreadable. Never negative.
    static func retryAfter(_ value: String?, now: Double) -> Double? {
        guard let value = value?.trimmingCharacters(in: .whitespaces), !value.isEmpty, value.utf8.count <= 64 else { return nil }
        if value.utf8.allSatisfy({ (0x30...0x39).contains($0) }) {
            return Double(value).map { min($0, 86_400 * 365) }
        }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        guard let date = formatter.date(from: value) else { return nil }
        return max(0, date.timeIntervalSince1970 - now)
    }

    /// The first bytes of a body on one line, so a log line stays a line.
    static func excerpt(of body: Data) -> String {
        let text = String(decoding: body.prefix(bodyExcerptLimit), as: UTF8.self)
        return text.split(whereSeparator: \.isNewline).joined(separator: " ").trimmingCharacters(in: .whitespaces)
    }
}
