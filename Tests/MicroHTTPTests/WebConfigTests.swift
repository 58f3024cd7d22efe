import CCrypt
import ConfigFiles
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
import TestSupport
@testable import MicroHTTP

/// bcrypt of `password` (by default at the cheapest cost, 04), through libcrypt as the server checks it.
func bcryptHash(_ password: String, salt: String = "abcdefghijklmnopqrstuu", cost: String = "04") -> String {
    var output = [CChar](repeating: 0, count: 128)
    let length = pe_crypt(password, "$2b$\(cost)$" + salt, &output, output.count)
    precondition(length > 0, "crypt failed")
    return String(decoding: output[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

func basic(_ user: String, _ password: String) -> String {
    "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
}

@Suite("Web config file")
struct WebConfigParsingTests {
    static let hash = bcryptHash("s3cret")

    @Test func emptyFileAndNullSectionsMeanNothing() throws {
        #expect(try WebConfig(yaml: "") == WebConfig())
        #expect(try WebConfig(yaml: "tls_server_config:\nbasic_auth_users:\n") == WebConfig())
        // As the exporter-toolkit: a TLS section with nothing set serves plain HTTP.
        #expect(try WebConfig(yaml: "tls_server_config: {}\n").tls == nil)
    }

    @Test func readsUsers() throws {
        let config = try WebConfig(yaml: "basic_auth_users:\n  alice: \(Self.hash)\n  bob: '\(Self.hash)'\n")
        #expect(config.users.names == ["alice", "bob"])
        #expect(config.tls == nil)
    }

    @Test func unknownAndUnsupportedFieldsAreRefusedWithTheirLine() {
        #expect(throws: ConfigError(line: 2, "unknown field \"basic_auth_user\" (known: basic_auth_users, tls_server_config)")) {
            try WebConfig(yaml: "# users\nbasic_auth_user: {}\n")
        }
        #expect(throws: ConfigError(line: 3, "tls_server_config: unknown field \"max_version\": max_version is not supported (TLS 1.3 is always allowed)")) {
            try WebConfig(yaml: "tls_server_config:\n  cert_file: a\n  max_version: TLS13\n")
        }
        #expect(throws: ConfigError(line: 1, "unknown field \"http_server_config\": HTTP/2 and custom headers are not supported")) {
            try WebConfig(yaml: "http_server_config: {http2: false}\n")
        }
    }

    @Test func badValuesNameLineAndReason() {
        #expect(throws: ConfigError(line: 4, "tls_server_config.client_auth_type: \"RequireCert\" is not a client auth type (NoClientCert, RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven, RequireAndVerifyClientCert)")) {
            try WebConfig(yaml: "tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: RequireCert\n")
        }
        #expect(throws: ConfigError(line: 2, "tls_server_config.min_version: \"TLS10\" is not supported: TLS 1.0 and 1.1 are never served (TLS12, TLS13)")) {
            try WebConfig(yaml: "tls_server_config:\n  min_version: TLS10\n")
        }
        #expect(throws: ConfigError(line: 2, "tls_server_config: key_file is required for TLS")) {
            try WebConfig(yaml: "tls_server_config:\n  cert_file: a\n")
        }
        #expect(throws: ConfigError(line: 2, "tls_server_config: cert_file is required for TLS")) {
            try WebConfig(yaml: "tls_server_config:\n  key_file: a\n")
        }
        #expect(throws: ConfigError(line: 2, "tls_server_config: client_ca_file is set but client_auth_type is NoClientCert; set client_auth_type (e.g. RequireAndVerifyClientCert)")) {
            try WebConfig(yaml: "tls_server_config:\n  cert_file: a\n  key_file: b\n  client_ca_file: c\n")
        }
        #expect(throws: ConfigError(line: 1, "expected a mapping")) { try WebConfig(yaml: "- a\n") }
        // The same words as the alerting config: where and why YAML refused it.
        #expect(throws: ConfigError(line: 2, "not valid YAML: mapping values are not allowed in this context")) { try WebConfig(yaml: "a: b\n  c: [d\n") }
    }

    @Test func badUsersAreRefusedWithoutEchoingTheHash() throws {
        let almost = String(Self.hash.dropLast()) + "!"
        do {
            _ = try WebConfig(yaml: "basic_auth_users:\n  alice: \(almost)\n")
            Issue.record("a bad hash was accepted")
        } catch {
            #expect(error.line == 2)
            #expect(error.message.hasPrefix("basic_auth_users.alice: not a bcrypt hash"))
            #expect(!error.description.contains(almost) && !error.description.contains(String(almost.dropFirst(7))), "the value never shows")
        }
        #expect(throws: ConfigError(line: 2, "basic_auth_users.alice: not a bcrypt hash ($2a$, $2b$ or $2y$, a cost of 04 to 31, then 53 characters of salt and hash; the value is not shown)")) {
            try WebConfig(yaml: "basic_auth_users:\n  alice: plaintext-password\n")
        }
        #expect(throws: ConfigError(line: 2, "basic_auth_users: user \"a:b\" holds ':', which Basic auth cannot carry in a user name")) {
            try WebConfig(yaml: "basic_auth_users:\n  \"a:b\": \(Self.hash)\n")
        }
        #expect(throws: ConfigError(line: 1, "basic_auth_users: expected a mapping of user names to bcrypt hashes")) {
            try WebConfig(yaml: "basic_auth_users: [alice]\n")
        }
        // A cost over 31 or under 4 is not bcrypt.
        let costly = "$2b$32$" + Self.hash.dropFirst(7)
        #expect(!BasicAuthUsers.isBcryptHash(Array(costly.utf8)))
        #expect(BasicAuthUsers.isBcryptHash(Array(Self.hash.utf8)))
    }

    @Test func printingAConfigShowsNoSecret() throws {
        let pki = try TestCertificates()
        defer { pki.remove() }
        let config = try WebConfig(yaml: """
            tls_server_config: {cert_file: \(pki.serverCert), key_file: \(pki.serverKey)}
            basic_auth_users: {alice: "\(Self.hash)"}
            """)
        let key = try String(contentsOfFile: pki.serverKey, encoding: .utf8)
        let keyLine = key.split(separator: "\n")[1]
        for text in ["\(config)", String(reflecting: config), "\(config.tls!)", String(reflecting: config.tls!), "\(config.users)"] {
            #expect(!text.contains(String(Self.hash.dropFirst(7))) && !text.contains(keyLine), "\(text)")
        }
        var dumped = ""
        dump(config, to: &dumped)
        #expect(!dumped.contains(String(Self.hash.dropFirst(7))) && !dumped.contains(keyLine))
    }

    /// One of the exporter-toolkit's good test files: verification without client_ca_file uses the
    /// system's roots, as Go does.
    @Test func verifyingWithoutAClientCAUsesTheSystemRoots() throws {
        let pki = try TestCertificates()
        defer { pki.remove() }
        for mode in ["VerifyClientCertIfGiven", "RequireAndVerifyClientCert"] {
            let yaml = "tls_server_config:\n  cert_file: \(pki.serverCert)\n  key_file: \(pki.serverKey)\n  client_auth_type: \(mode)\n"
            let tls = try #require(try WebConfig(yaml: yaml).tls)
            #expect(tls.clientAuth.rawValue == mode)
            let system = try #require(FileManager.default.contents(atPath: "/etc/ssl/certs/ca-certificates.crt"))
            #expect(tls.clientCAPEM == [UInt8](system))
        }
    }

    @Test func loadsAndChecksTheTLSFilesRelativeToTheConfig() throws {
        let pki = try TestCertificates()
        defer { pki.remove() }
        let file = pki.path("web.yml")
        try """
            tls_server_config:
              cert_file: server.crt
              key_file: server.key
              client_ca_file: ca.crt
              client_auth_type: RequireAndVerifyClientCert
              min_version: TLS13
            """.write(toFile: file, atomically: true, encoding: .utf8)
        let tls = try #require(try WebConfig.load(file: file).tls)
        #expect(tls.clientAuth == .requireAndVerifyClientCert)
        #expect(tls.minVersion == .tls13)
        #expect(tls.clientCAPEM == Array(try Data(contentsOf: URL(fileURLWithPath: pki.caCert))))

        try "tls_server_config: {cert_file: server.crt, key_file: rogue-ca.key}\n".write(toFile: file, atomically: true, encoding: .utf8)
        do {
            _ = try WebConfig.load(file: file)
            Issue.record("a key that does not match was accepted")
        } catch {
            #expect(error.file == file && error.line == 1)
            #expect(error.message.hasPrefix("tls_server_config: cert_file and key_file cannot be used together:"), "\(error)")
        }
        try "tls_server_config: {cert_file: missing.crt, key_file: server.key}\n".write(toFile: file, atomically: true, encoding: .utf8)
        #expect(throws: ConfigError(file: file, line: 1, "tls_server_config.cert_file: cannot read the certificate file \(pki.path("missing.crt")): No such file or directory")) {
            try WebConfig.load(file: file)
        }
        try "tls_server_config: {cert_file: server.crt, key_file: server.key, client_ca_file: server.key, client_auth_type: VerifyClientCertIfGiven}\n"
            .write(toFile: file, atomically: true, encoding: .utf8)
        do {
            _ = try WebConfig.load(file: file)
            Issue.record("a CA file without certificates was accepted")
        } catch {
            #expect(error.message.hasPrefix("tls_server_config.client_ca_file: no CA certificate could be read from server.key"), "\(error)")
        }
        #expect(throws: ConfigError(file: pki.path("nope.yml"), line: nil, "cannot read: No such file or directory")) {
            try WebConfig.load(file: pki.path("nope.yml"))
        }
    }
}

@Suite("Basic auth")
struct BasicAuthTests {
    static let users = try! WebConfig(yaml: "basic_auth_users: {alice: \"\(bcryptHash("s3cret"))\", \"zoë\": \"\(bcryptHash("pässword", salt: "zyxwvutsrqponmlkjihgfe"))\"}").users

    @Test func base64IsStrict() {
        #expect(Base64.decode(Array("YWxpY2U6czNjcmV0".utf8)[...]) == Array("alice:s3cret".utf8))
        #expect(Base64.decode(Array("YQ==".utf8)[...]) == Array("a".utf8))
        #expect(Base64.decode(Array("YWI=".utf8)[...]) == Array("ab".utf8))
        for bad in ["YQ", "Y===", "YQ=a", "YW?j", "=YWJ", "YQ==YQ=="] {
            #expect(Base64.decode(Array(bad.utf8)[...]) == nil, "\(bad)")
        }
    }

    @Test func credentialsParse() {
        #expect(BasicAuthChecker.credentials(basic("alice", "a:b")).map { [$0.user, $0.password] } == [Array("alice".utf8), Array("a:b".utf8)])
        #expect(BasicAuthChecker.credentials("bAsIc  " + Data("u:".utf8).base64EncodedString()).map { [$0.user, $0.password] } == [Array("u".utf8), []])
        #expect(BasicAuthChecker.credentials("Bearer abc") == nil)
        #expect(BasicAuthChecker.credentials("Basic " + Data("nocolon".utf8).base64EncodedString()) == nil)
        #expect(BasicAuthChecker.credentials("Basic") == nil)
        #expect(BasicAuthChecker.credentials("Basicx YQ==") == nil)
    }

    @Test func rightWrongAndUnknown() {
        let checker = BasicAuthChecker()
        #expect(checker.check(basic("alice", "s3cret"), users: Self.users) == .allowed)
        #expect(checker.check(basic("zoë", "pässword"), users: Self.users) == .allowed)
        #expect(checker.check(basic("alice", "s3cret "), users: Self.users) == .denied)
        #expect(checker.check(basic("alice", "S3cret"), users: Self.users) == .denied)
        #expect(checker.check(basic("Alice", "s3cret"), users: Self.users) == .denied)
        #expect(checker.check(basic("mallory", "s3cret"), users: Self.users) == .denied)
        #expect(checker.check(basic("alice", "s3cret\u{0}x"), users: Self.users) == .denied)
        #expect(checker.check("Basic !!!!", users: Self.users) == .denied)
        #expect(checker.check(basic("alice", "s3cret"), users: BasicAuthUsers()) == .denied)
    }

    @Test func verifiedPairsAreCachedSoBcryptRunsOnce() {
        let checker = BasicAuthChecker()
        #expect(checker.check(basic("alice", "s3cret"), users: Self.users) == .allowed)
        #expect(checker.bcryptRuns == 1)
        for _ in 0..<5 { #expect(checker.check(basic("alice", "s3cret"), users: Self.users) == .allowed) }
        #expect(checker.bcryptRuns == 1, "the second and later checks hit the cache")
        #expect(checker.check(basic("alice", "wrong"), users: Self.users) == .denied)
        #expect(checker.check(basic("alice", "wrong"), users: Self.users) == .denied)
        #expect(checker.bcryptRuns == 2, "a wrong password is remembered as wrong")
        // The cache is keyed by the hash too: a new hash for alice (a reload) is checked afresh.
        let changed = try! WebConfig(yaml: "basic_auth_users: {alice: \"\(bcryptHash("other", salt: "0123456789012345678901"))\"}").users
        #expect(checker.check(basic("alice", "s3cret"), users: changed) == .denied)
        #expect(checker.bcryptRuns == 3)
        // Past the limit, entries are evicted and everything still answers right.
        for index in 0..<(BasicAuthChecker.cacheLimit + 20) { _ = checker.check(basic("u\(index)", "p"), users: Self.users) }
        #expect(checker.check(basic("alice", "s3cret"), users: Self.users) == .allowed)
    }

    @Test func constantTimeEqualCompares() {
        #expect(BasicAuthChecker.constantTimeEqual([1, 2, 3], [1, 2, 3]))
        #expect(!BasicAuthChecker.constantTimeEqual([1, 2, 3], [1, 2, 4]))
        #expect(!BasicAuthChecker.constantTimeEqual([1, 2, 3], [1, 2]))
        #expect(!BasicAuthChecker.constantTimeEqual([1, 2], [1, 2, 3]))
        #expect(!BasicAuthChecker.constantTimeEqual([], [0]))
    }
}

@Suite("Server with a web config", .timeLimit(.minutes(1)))
struct WebSecurityServerTests {
    static func router() -> Router {
        var router = Router()
        router.route("GET", "/hello") { _ in .text("hello\n") }
        router.route("POST", "/open") { request in .text("got \(request.body.count)\n") }
        return router
    }

    @Test func everyRequestNeedsBasicAuthExceptTheSkippedOnes() async throws {
        let security = WebSecurity(config: WebConfig(users: BasicAuthTests.users)) { method, path in
            method == "POST" && path == "/open"
        }
        let server = HTTPServer(options: HTTPServerOptions(listenAddress: "127.0.0.1:0"), security: security, router: Self.router())
        try server.start()
        defer { server.stop() }
        let base = "http://127.0.0.1:\(server.boundPort)"
        let missing = try curl(["--include", base + "/hello"])
        #expect(missing.status == 401)
        #expect(missing.body.contains("WWW-Authenticate: Basic realm=\"progress-exporter\", charset=\"UTF-8\"\r\n"), "\(missing.body)")
        #expect(try curl(["--user", "alice:nope", base + "/hello"]).status == 401)
        #expect(try curl(["--user", "alice:nope", base + "/nothing-here"]).status == 401, "unknown paths are not told apart before auth")
        let right = try curl(["--user", "alice:s3cret", base + "/hello"])
        #expect(right.status == 200 && right.body == "hello\n")
        let open = try curl(["--data-binary", "abc", base + "/open"])
        #expect(open.status == 200 && open.body == "got 3\n")

        // Two Authorization headers, even with a right one among them, are refused.
        let connection = try RawConnection(port: server.boundPort)
        try connection.send("GET /hello HTTP/1.1\r\nHost: t\r\nAuthorization: \(basic("alice", "s3cret"))\r\nAuthorization: \(basic("alice", "s3cret"))\r\nConnection: close\r\n\r\n")
        #expect(connection.receive { $0.contains("Basic auth") }.hasPrefix("HTTP/1.1 401 "))

        // A refused POST is answered before its body is read.
        let early = try RawConnection(port: server.boundPort)
        try early.send("POST /hello HTTP/1.1\r\nHost: t\r\nContent-Length: 100000000\r\nExpect: 100-continue\r\n\r\n")
        let answer = early.receive { $0.contains("Basic auth") }
        #expect(answer.hasPrefix("HTTP/1.1 401 ") && !answer.contains("100 Continue"), "\(answer)")
    }

    @Test func reloadSwapsUsersAndABadFileKeepsTheOld() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("pe-web-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("web.yml").path
        try "basic_auth_users: {alice: \"\(bcryptHash("one"))\"}\n".write(toFile: file, atomically: true, encoding: .utf8)
        let security = try WebSecurity(file: file)
        #expect(security.currentUsers.names == ["alice"])
        try "basic_auth_users: {bob: \"\(bcryptHash("two"))\"}\n".write(toFile: file, atomically: true, encoding: .utf8)
        #expect(security.reload() == .success(.applied))
        #expect(security.currentUsers.names == ["bob"])
        try "basic_auth_users: {bob: nope}\n".write(toFile: file, atomically: true, encoding: .utf8)
        guard case .failure(let error) = security.reload() else { Issue.record("a bad file was applied"); return }
        #expect(error.line == 1)
        #expect(security.currentUsers.names == ["bob"], "a bad file keeps the old users")
    }
}

/// User enumeration by timing: an unknown user must cost the same bcrypt as the slowest known one.
@Suite struct BasicAuthDecoyTests {
    @Test func anUnknownUserIsCheckedAgainstTheCostliestListedHash() {
        let cost10 = Array("$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi".utf8)
        let cost12 = Array("$2y$12$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi".utf8)
        let cost04 = Array("$2b$04$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi".utf8)
        let users = BasicAuthUsers(hashes: [Array("a".utf8): cost10, Array("b".utf8): cost12, Array("c".utf8): cost04])
        #expect(users.decoyHash == cost12)
        #expect(BasicAuthUsers(hashes: [Array("c".utf8): cost04]).decoyHash == cost04)
        #expect(BasicAuthUsers().decoyHash == BasicAuthChecker.decoyHash)
        // And the check still says no for an unknown user whose password is the decoy's.
        let checker = BasicAuthChecker()
        let header = "Basic " + Data("nobody:anything".utf8).base64EncodedString()
        #expect(checker.check(header, users: users) == .denied)
    }
}

/// A bcrypt flood (issue 22, item 4): new wrong passwords never hold request threads.
@Suite struct BasicAuthFloodTests {
    static let users = try! WebConfig(yaml: "basic_auth_users: {alice: \"\(bcryptHash("s3cret"))\"}").users

    @Test func anAddressThatFailsTooOftenIsAnsweredBusyWithoutBcrypt() {
        let checker = BasicAuthChecker()
        let attacker = ClientKey(mappedIPv4: 0x7F00_0002)
        let other = ClientKey(mappedIPv4: 0x7F00_0003)
        for index in 0..<BasicAuthChecker.failuresAllowed {
            #expect(checker.check(basic("alice", "wrong\(index)"), users: Self.users, client: attacker, now: 100) == .denied)
        }
        let runs = checker.bcryptRuns
        #expect(checker.check(basic("alice", "wrong-again"), users: Self.users, client: attacker, now: 101) == .busy)
        #expect(checker.bcryptRuns == runs, "no bcrypt for a throttled address")
        // Another address, and known-good credentials, are not held up.
        #expect(checker.check(basic("alice", "s3cret"), users: Self.users, client: other, now: 101) == .allowed)
        #expect(checker.check(basic("alice", "s3cret"), users: Self.users, client: attacker, now: 101) == .allowed, "cached: the fast path")
        // The window passes.
        #expect(checker.check(basic("alice", "wrong-later"), users: Self.users, client: attacker, now: 100 + BasicAuthChecker.failureWindow + 1) == .denied)
    }

    @Test func aNewPasswordWhileBcryptRunsIsBusyNotQueued() {
        let checker = BasicAuthChecker()
        #expect(checker.check(basic("alice", "s3cret"), users: Self.users) == .allowed)
        let verdicts = checker.whileBcryptRuns {
            [checker.check(basic("alice", "new-guess"), users: Self.users), checker.check(basic("alice", "s3cret"), users: Self.users)]
        }
        #expect(verdicts == [.busy, .allowed], "a new password does not wait; known-good credentials are answered from the cache")
        #expect(checker.check(basic("alice", "new-guess"), users: Self.users) == .denied, "checked once bcrypt is free")
    }

}
