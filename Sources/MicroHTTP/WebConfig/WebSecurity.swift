import CGnuTLS
import CMicroHTTPD

/// What `--web.config.file` asks of every request: basic auth against `basic_auth_users` and, under
/// TLS, the client certificate its `client_auth_type` wants. Shared by the server's threads; a
/// reload swaps the users at once.
///
/// TLS itself (certificate, key, client CAs, minimum version) is given to libmicrohttpd when its
/// daemon starts: a reload that changes it returns `.tlsChanged`, and `HTTPServer.restart(tls:)`
/// puts it in place with a new daemon on the same listening socket.
public final class WebSecurity: Sendable {
    /// What a reload did.
    public enum ReloadOutcome: Sendable, Equatable {
        /// The file was read again; its users now apply, and its TLS part is what the server runs.
        case applied
        /// The users now apply; the TLS part differs from what the server runs (nil: plain HTTP).
        case tlsChanged(TLSSettings?)
    }

    public let file: String?
    private let currentTLS: Locked<TLSSettings?>
    private let users: Locked<BasicAuthUsers>
    private let checker: BasicAuthChecker
    /// Requests that skip basic auth, e.g. POST /events when it has its own bearer token.
    private let skipsBasicAuth: @Sendable (_ method: String, _ path: String) -> Bool

    /// The realm in `WWW-Authenticate`.
    public static let realm = "progress-exporter"

    public convenience init(config: WebConfig, file: String? = nil, skipsBasicAuth: @escaping @Sendable (_ method: String, _ path: String) -> Bool = { _, _ in false }) {
        self.init(config: config, file: file, checker: BasicAuthChecker(), skipsBasicAuth: skipsBasicAuth)
    }

    /// With a given password checker (tests pass one whose bcrypt blocks until told).
    init(
        config: WebConfig, file: String? = nil, checker: BasicAuthChecker,
        skipsBasicAuth: @escaping @Sendable (_ method: String, _ path: String) -> Bool = { _, _ in false }
    ) {
        self.checker = checker
        self.file = file
        currentTLS = Locked(config.tls)
        users = Locked(config.users)
        self.skipsBasicAuth = skipsBasicAuth
    }

    /// Loads `file` (refusing a bad one with its line and reason).
    public convenience init(file: String, skipsBasicAuth: @escaping @Sendable (_ method: String, _ path: String) -> Bool = { _, _ in false }) throws(WebConfigError) {
        self.init(config: try WebConfig.load(file: file), file: file, skipsBasicAuth: skipsBasicAuth)
    }

    /// The TLS the server runs (or starts) with; nil for plain HTTP.
    public var tls: TLSSettings? { currentTLS.withLock { $0 } }

    /// Records the TLS the server now runs with (`HTTPServer.restart(tls:)` calls it).
    func adopt(_ tls: TLSSettings?) { currentTLS.withLock { $0 = tls } }

    /// The users that apply now.
    public var currentUsers: BasicAuthUsers { users.withLock { $0 } }

    /// Reads the file again; a bad file changes nothing and is returned as the failure.
    public func reload() -> Result<ReloadOutcome, WebConfigError> {
        guard let file else { return .success(.applied) }
        let config: WebConfig
        do { config = try WebConfig.load(file: file) } catch { return .failure(error) }
        users.withLock { $0 = config.users }
        return .success(config.tls == tls ? .applied : .tlsChanged(config.tls))
    }

    /// Bcrypt runs so far (cache misses), for tests.
    var bcryptRuns: Int { checker.bcryptRuns }

    /// Nil when the request may go on, else the answer that refuses it. `authorization` holds every
    /// Authorization header of the request.
    /// `clientAuth`: the mode of the daemon the connection belongs to.
    func refusal(method: String, path: String, authorization: [String], connection: OpaquePointer?, clientAuth: TLSSettings.ClientAuth) -> HTTPResponse? {
        switch decide(method: method, path: path, authorization: authorization, connection: connection, clientAuth: clientAuth) {
        case .allowed: return nil
        case .refused(let response): return response
        case .slowCheck(let check): return check()
        }
    }

    /// What `decide` found: the slow part (bcrypt of new credentials) is left to the caller to run
    /// where it stalls nobody else.
    enum Decision {
        case allowed
        case refused(HTTPResponse)
        /// Only bcrypt can tell: run it (on a worker) for nil (go on) or the refusal.
        case slowCheck(@Sendable () -> HTTPResponse?)
    }

    func decide(method: String, path: String, authorization: [String], connection: OpaquePointer?, clientAuth: TLSSettings.ClientAuth) -> Decision {
        if clientAuth != .noClientCert, let connection, let refused = Self.clientCertificateRefusal(clientAuth, connection) {
            return .refused(refused)
        }
        let users = users.withLock { $0 }
        guard !users.isEmpty, !skipsBasicAuth(method, path) else { return .allowed }
        // Two Authorization headers are ambiguous: refused rather than guessed.
        guard authorization.count == 1 else { return .refused(Self.unauthorized) }
        let client = connection.flatMap { pe_mhd_client_address($0) }.flatMap(ClientKey.init)
        let now = ServerContext.now()
        if let quick = checker.quickVerdict(authorization[0], users: users, client: client, now: now) {
            return quick == .allowed ? .allowed : .refused(Self.answer(quick) ?? Self.unauthorized)
        }
        let checker = checker
        let credentials = authorization[0]
        return .slowCheck {
            Self.answer(checker.bcryptVerdict(credentials, users: users, client: client, now: ServerContext.now()))
        }
    }

    /// nil for `.allowed`, else the refusal.
    private static func answer(_ verdict: BasicAuthChecker.Verdict) -> HTTPResponse? {
        switch verdict {
        case .allowed: return nil
        case .denied: return unauthorized
        case .busy: return tooManyAttempts
        }
    }

    static let tooManyAttempts = HTTPResponse.text("Too many password checks: try again in a second.\n", status: 429)
        .adding(header: "Retry-After", "1")

    static let unauthorized = HTTPResponse.text("Unauthorized: this exporter needs a user name and password (HTTP Basic auth).\n", status: 401)
        .adding(header: "WWW-Authenticate", "Basic realm=\"\(realm)\", charset=\"UTF-8\"")

    /// The check libmicrohttpd cannot make during the handshake: it only ever asks for a client
    /// certificate, so needing one and verifying it happen here, before every request is answered.
    private static func clientCertificateRefusal(_ mode: TLSSettings.ClientAuth, _ connection: OpaquePointer) -> HTTPResponse? {
        guard mode.needsCertificate || mode.verifiesCertificate else { return nil }
        var status: UInt32 = 0
        let result = pe_tls_peer_certificate(pe_mhd_tls_session(connection), mode.verifiesCertificate ? 1 : 0, &status)
        switch result {
        case 0: return nil
        case 1: return mode.needsCertificate ? refused("a client certificate is required (client_auth_type \(mode.rawValue))") : nil
        case 2:
            var text = [CChar](repeating: 0, count: 512)
            pe_tls_status_text(status, &text, text.count)
            let reason = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            return refused("the client certificate is not valid: \(reason.isEmpty ? "status \(status)" : reason)")
        case -1000: return refused("no TLS session")
        default: return refused("the client certificate could not be verified: \(String(cString: pe_tls_error_text(result)))")
        }
    }

    private static func refused(_ reason: String) -> HTTPResponse {
        HTTPResponse.text("Forbidden: \(reason)\n", status: 403).adding(header: "Connection", "close")
    }
}
