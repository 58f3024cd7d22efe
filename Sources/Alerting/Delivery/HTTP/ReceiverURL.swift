import Foundation

/// Checks a receiver URL once, when the receiver is built, so a typo is refused with the config, not at the first alert.
enum ReceiverURL {
    static func parse(_ text: String, receiver: String) throws(ReceiverConfigError) -> URL {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
              let host = url.host, !host.isEmpty
        else {
            throw ReceiverConfigError(receiver: receiver, reason: "\"\(text)\" is not an http(s) URL with a host")
        }
        return url
    }
}
