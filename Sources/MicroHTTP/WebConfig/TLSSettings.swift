/// TLS for an `HTTPServer`: served by libmicrohttpd through GnuTLS.
///
/// It holds the private key, so it never prints: its description, debug description and mirror
/// name only the client-auth type and the minimum version.
public struct TLSSettings: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// Which client certificates the server asks for and accepts, with the exporter-toolkit's names.
    public enum ClientAuth: String, Sendable, CaseIterable {
        /// No client certificate is asked for.
        case noClientCert = "NoClientCert"
        /// A certificate is asked for but not needed and not verified.
        case requestClientCert = "RequestClientCert"
        /// A certificate is needed but not verified.
        case requireAnyClientCert = "RequireAnyClientCert"
        /// A certificate is not needed, but one that is sent must verify against the client CAs.
        case verifyClientCertIfGiven = "VerifyClientCertIfGiven"
        /// A certificate is needed and must verify against the client CAs.
        case requireAndVerifyClientCert = "RequireAndVerifyClientCert"

        /// A request on a connection without a client certificate is refused.
        public var needsCertificate: Bool { self == .requireAnyClientCert || self == .requireAndVerifyClientCert }
        /// A client certificate that was sent must chain to the client CAs.
        public var verifiesCertificate: Bool { self == .verifyClientCertIfGiven || self == .requireAndVerifyClientCert }
    }

    /// The oldest TLS version a client may use.
    public enum Version: String, Sendable, CaseIterable {
        case tls12 = "TLS12"
        case tls13 = "TLS13"

        /// The GnuTLS priority string that allows this version and newer ones.
        var priorities: String {
            switch self {
            case .tls12: return "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"
            case .tls13: return "NORMAL:-VERS-ALL:+VERS-TLS1.3"
            }
        }
    }

    /// The server's certificate chain, PEM, leaf first.
    public var certificatePEM: [UInt8]
    /// The server's private key, PEM.
    var keyPEM: [UInt8]
    /// CA certificates (PEM) that client certificates are verified against; nil for none.
    public var clientCAPEM: [UInt8]?
    public var clientAuth: ClientAuth
    public var minVersion: Version

    public init(certificatePEM: [UInt8], keyPEM: [UInt8], clientCAPEM: [UInt8]? = nil, clientAuth: ClientAuth = .noClientCert, minVersion: Version = .tls12) {
        self.certificatePEM = certificatePEM
        self.keyPEM = keyPEM
        self.clientCAPEM = clientCAPEM
        self.clientAuth = clientAuth
        self.minVersion = minVersion
    }

    public var description: String { "TLS(client_auth_type: \(clientAuth.rawValue), min_version: \(minVersion.rawValue))" }
    public var debugDescription: String { description }
    public var customMirror: Mirror {
        Mirror(self, children: ["clientAuth": clientAuth, "minVersion": minVersion], displayStyle: .struct)
    }

    /// What MHD is given as its trusted CAs: the client CAs; or, when a certificate is asked for
    /// without any (RequestClientCert, RequireAnyClientCert), an empty list, which makes MHD ask
    /// for one and names no CA to the client. Nil when no certificate is asked for.
    var trustForDaemon: [UInt8]? {
        guard clientAuth != .noClientCert else { return nil }
        return clientCAPEM ?? []
    }
}
