import CGnuTLS
import ConfigFiles
import Yams
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The Prometheus exporter-toolkit's web config file (`--web.config.file`), the parts this server
/// supports: `tls_server_config` (`cert_file`, `key_file`, `client_ca_file`, `client_auth_type`,
/// `min_version`) and `basic_auth_users`. Any other field is refused with its line, and so is
/// every bad value; the certificate, key and CA files are read and checked here too, so a config
/// that loads is one the server can start with.
public struct WebConfig: Sendable, Equatable {
    /// TLS, or nil for plain HTTP.
    public var tls: TLSSettings?
    /// User names (bytes as sent) to bcrypt hashes; empty for no basic auth.
    public var users: BasicAuthUsers

    public init(tls: TLSSettings? = nil, users: BasicAuthUsers = BasicAuthUsers()) {
        self.tls = tls
        self.users = users
    }

    /// Fields of the exporter-toolkit's format that this server does not support, with why.
    static let unsupported: [String: String] = [
        "http_server_config": "HTTP/2 and custom headers are not supported",
        "rate_limit": "rate limiting is not supported (see --web.max-connections-per-ip)",
        "cert": "inline certificates are not supported; use cert_file",
        "key": "inline keys are not supported; use key_file",
        "client_allowed_sans": "client certificate SAN allow-lists are not supported",
        "max_version": "max_version is not supported (TLS 1.3 is always allowed)",
        "cipher_suites": "cipher_suites is not supported (GnuTLS's NORMAL suites are used)",
        "curve_preferences": "curve_preferences is not supported",
        "prefer_server_cipher_suites": "prefer_server_cipher_suites is not supported",
    ]

    /// Files larger than this are refused (a certificate bundle or a config is far smaller).
    static let maxFileBytes = 1 << 20

    /// Reads and checks `path`; relative file names in it are taken from the config file's folder,
    /// as the exporter-toolkit does.
    public static func load(file path: String) throws(ConfigError) -> WebConfig {
        let bytes: [UInt8]
        do { bytes = try FileBytes.read(path, limit: maxFileBytes) } catch { throw ConfigError(file: path, line: nil, "cannot read: \(error.reason)") }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw ConfigError(file: path, line: nil, "not UTF-8 text") }
        let folder = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
        do {
            return try WebConfig(yaml: text, folder: folder.isEmpty ? "/" : folder)
        } catch {
            var located = error
            located.file = path
            throw located
        }
    }

    /// Parses YAML text; `folder` is where relative file names point.
    public init(yaml: String, folder: String = ".") throws(ConfigError) {
        guard let root = try YAMLText.compose(yaml) else { self.init(); return }
        if root.isNull { self.init(); return }
        let fields = try WebYAML(node: root, path: "").mapping(allowed: ["tls_server_config", "basic_auth_users"], unsupported: Self.unsupported)
        var config = WebConfig()
        if let tls = fields["tls_server_config"], !tls.node.isNull {
            config.tls = try Self.readTLS(tls, folder: folder)
        }
        if let users = fields["basic_auth_users"], !users.node.isNull {
            config.users = try Self.readUsers(users)
        }
        self = config
    }

    private static func readTLS(_ reader: WebYAML, folder: String) throws(ConfigError) -> TLSSettings? {
        let fields = try reader.mapping(
            allowed: ["cert_file", "key_file", "client_ca_file", "client_auth_type", "min_version"], unsupported: unsupported)
        let clientAuth: TLSSettings.ClientAuth
        if let value = fields["client_auth_type"] {
            let text = try value.string()
            // "RequireClientCert" is the exporter-toolkit's older name, which it still accepts.
            if text == "RequireClientCert" {
                clientAuth = .requireAnyClientCert
            } else if let known = TLSSettings.ClientAuth(rawValue: text) {
                clientAuth = known
            } else {
                throw value.fail("\"\(text)\" is not a client auth type (\(TLSSettings.ClientAuth.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
        } else {
            clientAuth = .noClientCert
        }
        let minVersion: TLSSettings.Version
        if let value = fields["min_version"] {
            let text = try value.string()
            guard let known = TLSSettings.Version(rawValue: text) else {
                let why = ["TLS10", "TLS11"].contains(text) ? "is not supported: TLS 1.0 and 1.1 are never served" : "is not a TLS version"
                throw value.fail("\"\(text)\" \(why) (\(TLSSettings.Version.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            minVersion = known
        } else {
            minVersion = .tls12
        }
        let certFile = try fields["cert_file"].map { value throws(ConfigError) in try value.string() }.flatMap { $0.isEmpty ? nil : $0 }
        let keyFile = try fields["key_file"].map { value throws(ConfigError) in try value.string() }.flatMap { $0.isEmpty ? nil : $0 }
        let caFile = try fields["client_ca_file"].map { value throws(ConfigError) in try value.string() }.flatMap { $0.isEmpty ? nil : $0 }
        // As the exporter-toolkit: a tls_server_config with nothing set serves plain HTTP.
        if certFile == nil && keyFile == nil && caFile == nil && fields["client_auth_type"] == nil && fields["min_version"] == nil { return nil }
        guard let certFile else { throw reader.fail("cert_file is required for TLS") }
        guard let keyFile else { throw reader.fail("key_file is required for TLS") }
        if caFile != nil && clientAuth == .noClientCert {
            throw reader.fail("client_ca_file is set but client_auth_type is NoClientCert; set client_auth_type (e.g. RequireAndVerifyClientCert)")
        }
        // Without client_ca_file, Go (and so the exporter-toolkit) verifies client certificates
        // against the system's roots: the same here, from the system trust store.
        if clientAuth.verifiesCertificate && caFile == nil && systemTrustStore() == nil {
            throw reader.fail("client_auth_type \(clientAuth.rawValue) verifies client certificates: without client_ca_file the system's roots are used, and none were found (\(systemTrustStorePaths.joined(separator: ", ")))")
        }
        let certificate = try read(fields["cert_file"]!, certFile, folder: folder, what: "certificate")
        let key = try read(fields["key_file"]!, keyFile, folder: folder, what: "key")
        let checked = certificate.withUnsafeBufferPointer { cert in
            key.withUnsafeBufferPointer { key in
                cert.withMemoryRebound(to: CChar.self) { cert in
                    key.withMemoryRebound(to: CChar.self) { key in
                        pe_tls_check_key_pair(cert.baseAddress, cert.count, key.baseAddress, key.count)
                    }
                }
            }
        }
        guard checked == 0 else {
            throw reader.fail("cert_file and key_file cannot be used together: \(String(cString: pe_tls_error_text(checked)))")
        }
        var ca: [UInt8]?
        if let caFile, let node = fields["client_ca_file"] {
            let bytes = try read(node, caFile, folder: folder, what: "client CA")
            let count = bytes.withUnsafeBufferPointer { pem in
                pem.withMemoryRebound(to: CChar.self) { pe_tls_count_trusted($0.baseAddress, $0.count) }
            }
            guard count > 0 else {
                let why = count < 0 ? String(cString: pe_tls_error_text(count)) : "it holds no PEM certificate"
                throw node.fail("no CA certificate could be read from \(caFile): \(why)")
            }
            ca = bytes
        }
        if ca == nil, clientAuth.verifiesCertificate { ca = systemTrustStore() }
        return TLSSettings(certificatePEM: certificate, keyPEM: key, clientCAPEM: ca, clientAuth: clientAuth, minVersion: minVersion)
    }

    /// Where Debian, Fedora and Alpine keep the system's trusted roots as one PEM file.
    static let systemTrustStorePaths = ["/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/cert.pem"]

    /// The system's trusted roots (PEM), or nil when no readable bundle holds a certificate.
    private static func systemTrustStore() -> [UInt8]? {
        for path in systemTrustStorePaths {
            guard let bytes = try? FileBytes.read(path, limit: 16 << 20), !bytes.contains(0) else { continue }
            let count = bytes.withUnsafeBufferPointer { pem in
                pem.withMemoryRebound(to: CChar.self) { pe_tls_count_trusted($0.baseAddress, $0.count) }
            }
            if count > 0 { return bytes }
        }
        return nil
    }

    private static func read(_ node: WebYAML, _ name: String, folder: String, what: String) throws(ConfigError) -> [UInt8] {
        let path = name.hasPrefix("/") ? name : folder + "/" + name
        let bytes: [UInt8]
        do { bytes = try FileBytes.read(path, limit: maxFileBytes) } catch { throw node.fail("cannot read the \(what) file \(path): \(error.reason)") }
        // MHD takes the PEM as a C string: a NUL byte would cut it short.
        guard !bytes.contains(0) else { throw node.fail("the \(what) file \(path) holds a NUL byte; PEM text is expected") }
        return bytes
    }

    private static func readUsers(_ reader: WebYAML) throws(ConfigError) -> BasicAuthUsers {
        guard case .mapping(let mapping) = reader.node else { throw reader.fail("expected a mapping of user names to bcrypt hashes") }
        var hashes: [[UInt8]: [UInt8]] = [:]
        for (keyNode, valueNode) in mapping {
            let line = keyNode.mark?.line
            guard case .scalar(let key) = keyNode else { throw ConfigError(line: line, "basic_auth_users: user names must be strings") }
            let user = key.string
            // RFC 7617: the user-id cannot hold a colon (it ends at the first one).
            guard !user.contains(":") else { throw ConfigError(line: line, "basic_auth_users: user \"\(user)\" holds ':', which Basic auth cannot carry in a user name") }
            guard !user.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) else {
                throw ConfigError(line: line, "basic_auth_users: a user name holds a control character")
            }
            let value = WebYAML(node: valueNode, path: "basic_auth_users.\(user)")
            guard case .scalar(let scalar) = valueNode else { throw value.fail("expected a bcrypt hash") }
            let hash = Array(scalar.string.utf8)
            // The value is a secret: the message never repeats it.
            guard BasicAuthUsers.isBcryptHash(hash) else {
                throw value.fail("not a bcrypt hash ($2a$, $2b$ or $2y$, a cost of 04 to 31, then 53 characters of salt and hash; the value is not shown)")
            }
            guard hashes[Array(user.utf8)] == nil else { throw ConfigError(line: line, "basic_auth_users: user \"\(user)\" is listed twice") }
            hashes[Array(user.utf8)] = hash
        }
        return BasicAuthUsers(hashes: hashes)
    }
}

/// Typed reads of a YAML node that fail with the line and the path of the offending value.
struct WebYAML {
    let node: Node
    let path: String

    func fail(_ message: String) -> ConfigError { ConfigError(line: node.mark?.line, path.isEmpty ? message : "\(path): \(message)") }

    /// The entries of a mapping; a key not in `allowed` is an error (with why, when `unsupported` knows it).
    func mapping(allowed: Set<String>, unsupported: [String: String]) throws(ConfigError) -> [String: WebYAML] {
        guard case .mapping(let mapping) = node else { throw fail("expected a mapping") }
        var out: [String: WebYAML] = [:]
        let prefix = path.isEmpty ? "" : "\(path): "
        for (keyNode, valueNode) in mapping {
            guard case .scalar(let scalar) = keyNode else { throw ConfigError(line: keyNode.mark?.line, "\(prefix)keys must be strings") }
            let key = scalar.string
            guard allowed.contains(key) else {
                let why = unsupported[key].map { ": \($0)" } ?? " (known: \(allowed.sorted().joined(separator: ", ")))"
                throw ConfigError(line: keyNode.mark?.line, "\(prefix)unknown field \"\(key)\"\(why)")
            }
            guard out[key] == nil else { throw ConfigError(line: keyNode.mark?.line, "\(prefix)field \"\(key)\" is set twice") }
            out[key] = WebYAML(node: valueNode, path: path.isEmpty ? key : "\(path).\(key)")
        }
        return out
    }

    func string() throws(ConfigError) -> String {
        guard case .scalar(let scalar) = node else { throw fail("expected a string") }
        return scalar.string
    }
}

extension Node {
    /// `~`, `null` or nothing at all.
    var isNull: Bool {
        guard case .scalar(let scalar) = self else { return false }
        return scalar.style == .plain && ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }
}

/// Reads whole small files, with errno's text on failure.
