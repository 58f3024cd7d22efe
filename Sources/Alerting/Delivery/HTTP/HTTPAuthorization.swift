import Foundation

/// Credentials for a receiver's HTTP endpoint.
public enum HTTPAuthorization: Sendable, Equatable {
    case bearer(token: String)
    case basic(BasicAuth)

    /// The `Authorization` header value.
    var headerValue: String {
        switch self {
        case .bearer(let token):
            return "Bearer \(token)"
        case .basic(let credentials):
            return "Basic " + Data("\(credentials.username):\(credentials.password)".utf8).base64EncodedString()
        }
    }
}

/// A username and password for HTTP basic auth.
public struct BasicAuth: Sendable, Equatable {
    public var username: String
    public var password: String

    public init(username: String, password: String) {
        self.username = username
        self.password = password
    }
}
