import CCrypt
import Foundation
import TestSupport
import Testing

/// bcrypt (cost 04) of `password`, through libcrypt.
private func bcrypt(_ password: String, salt: String = "abcdefghijklmnopqrstuu") -> String {
    var output = [CChar](repeating: 0, count: 128)
    let length = pe_crypt(password, "$2b$04$" + salt, &output, output.count)
    precondition(length > 0, "crypt failed")
    return String(decoding: output[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// `--web.config.file` through the real binary, with curl as the client and certificates made by openssl.
@Suite(.serialized, .timeLimit(.minutes(3))) struct WebConfigEndToEndTests {
    static let aliceHash = bcrypt("alice-pass")

    private func write(_ text: String, _ path: String) throws {
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    @Test func tlsWithBasicAuthAnswersOnlyTheRightPasswordAndOnlyOverTLS() async throws {
        let pki = try TestCertificates()
        defer { pki.remove() }
        let config = pki.path("web.yml")
        try write("""
            tls_server_config:
              cert_file: server.crt
              key_file: server.key
            basic_auth_users:
              alice: \(Self.aliceHash)
            """, config)
        let exporter = try await ExporterProcess(["--web.config.file", config])
        defer { exporter.stop() }
        let url = "https://127.0.0.1:\(exporter.port)"
        let trust = ["--cacert", pki.caCert]

        let missing = try curl(trust + ["--include", url + "/metrics"])
        #expect(missing.status == 401)
        #expect(missing.body.contains("WWW-Authenticate: Basic realm=\"progress-exporter\""))
        #expect(try curl(trust + ["--user", "alice:wrong", url + "/metrics"]).status == 401)
        #expect(try curl(trust + ["--user", "mallory:alice-pass", url + "/metrics"]).status == 401)
        let right = try curl(trust + ["--user", "alice:alice-pass", url + "/metrics"])
        #expect(right.status == 200)
        #expect(right.body.contains("progress_exporter_build_info"))
        for path in ["/", "/-/healthy", "/-/ready", "/api/v1/jobs", "/api/v1/alerts"] {
            #expect(try curl(trust + [url + path]).status == 401, "\(path) needs basic auth too")
            #expect(try curl(trust + ["--user", "alice:alice-pass", url + path]).status == 200, "\(path)")
        }
        // The server's certificate is checked by curl against the test CA: no --insecure anywhere.
        let untrusted = try curl(["--user", "alice:alice-pass", url + "/metrics"])
        #expect(untrusted.status == 0 && untrusted.exit != 0, "a client without the CA does not trust the server")
        // Plain HTTP to the TLS port gets no HTTP answer.
        #expect(try curl(["--user", "alice:alice-pass", "http://127.0.0.1:\(exporter.port)/metrics"]).status == 0)
        // TLS 1.1 is never served; TLS 1.2 is by default.
        #expect(try curl(trust + ["--tls-max", "1.1", "--user", "alice:alice-pass", url + "/-/healthy"]).status == 0)
        #expect(try curl(trust + ["--tls-max", "1.2", "--user", "alice:alice-pass", url + "/-/healthy"]).status == 200)

        exporter.stop()
        let log = exporter.fullLog()
        #expect(log.contains("web config loaded"))
        #expect(!log.contains(String(Self.aliceHash.dropFirst(7))) && !log.contains("alice-pass"), "no secret in the log")
    }

    @Test func minVersionTLS13RefusesTLS12() async throws {
        let pki = try TestCertificates()
        defer { pki.remove() }
        let config = pki.path("web.yml")
        try write("tls_server_config: {cert_file: server.crt, key_file: server.key, min_version: TLS13}\n", config)
        let exporter = try await ExporterProcess(["--web.config.file", config])
        defer { exporter.stop() }
        let url = "https://127.0.0.1:\(exporter.port)/-/healthy"
        let old = try curl(["--cacert", pki.caCert, "--tls-max", "1.2", url])
        #expect(old.status == 0 && old.exit != 0, "TLS 1.2 is refused: \(old.body)")
        #expect(try curl(["--cacert", pki.caCert, "--tlsv1.3", url]).status == 200)
    }

    @Test func clientCertificatesAreRequiredAndVerified() async throws {
        let pki = try TestCertificates()
        defer { pki.remove() }
        let config = pki.path("web.yml")
        try write("""
            tls_server_config:
              cert_file: server.crt
              key_file: server.key
              client_ca_file: ca.crt
              client_auth_type: RequireAndVerifyClientCert
            """, config)
        let exporter = try await ExporterProcess(["--web.config.file", config])
        defer { exporter.stop() }
        let url = "https://127.0.0.1:\(exporter.port)/metrics"
        let trust = ["--cacert", pki.caCert]
        let none = try curl(trust + [url])
        #expect(none.status == 403 && none.body.contains("a client certificate is required"), "\(none)")
        let rogue = try curl(trust + ["--cert", pki.rogueClientCert, "--key", pki.rogueClientKey, url])
        #expect(rogue.status == 403 && rogue.body.contains("not valid"), "\(rogue)")
        // The server's own certificate chains to the CA but is not for TLS clients.
        let wrongPurpose = try curl(trust + ["--cert", pki.serverCert, "--key", pki.serverKey, url])
        #expect(wrongPurpose.status == 403, "\(wrongPurpose)")
        for version in ["1.2", "1.3"] {
            let good = try curl(trust + ["--tls-max", version, "--cert", pki.clientCert, "--key", pki.clientKey, url])
            #expect(good.status == 200 && good.body.contains("progress_exporter_build_info"), "TLS \(version): \(good.status)")
        }
    }

    @Test func clientCertificateModesThatDoNotVerify() async throws {
        let pki = try TestCertificates()
        defer { pki.remove() }
        let config = pki.path("web.yml")
        let url = { (port: Int) in "https://127.0.0.1:\(port)/-/healthy" }
        let trust = ["--cacert", pki.caCert]
        let rogue = ["--cert", pki.rogueClientCert, "--key", pki.rogueClientKey]

        try write("tls_server_config: {cert_file: server.crt, key_file: server.key, client_auth_type: RequireAnyClientCert}\n", config)
        var exporter = try await ExporterProcess(["--web.config.file", config])
        #expect(try curl(trust + [url(exporter.port)]).status == 403)
        #expect(try curl(trust + rogue + [url(exporter.port)]).status == 200, "any certificate will do")
        exporter.stop()

        try write("""
            tls_server_config: {cert_file: server.crt, key_file: server.key, client_ca_file: ca.crt, client_auth_type: VerifyClientCertIfGiven}
            """, config)
        exporter = try await ExporterProcess(["--web.config.file", config])
        #expect(try curl(trust + [url(exporter.port)]).status == 200, "no certificate is fine")
        #expect(try curl(trust + rogue + [url(exporter.port)]).status == 403, "a certificate that is sent must verify")
        #expect(try curl(trust + ["--cert", pki.clientCert, "--key", pki.clientKey, url(exporter.port)]).status == 200)
        exporter.stop()

        try write("tls_server_config: {cert_file: server.crt, key_file: server.key, client_auth_type: RequestClientCert}\n", config)
        exporter = try await ExporterProcess(["--web.config.file", config])
        #expect(try curl(trust + [url(exporter.port)]).status == 200)
        #expect(try curl(trust + rogue + [url(exporter.port)]).status == 200)
        exporter.stop()
    }

    @Test func aBadFileIsRefusedAtStartWithLineAndReason() async throws {
        let pki = try TestCertificates()
        defer { pki.remove() }
        let config = pki.path("web.yml")
        try write("basic_auth_users:\n  alice: \(Self.aliceHash)\n  bob: not-a-hash-but-a-secret\n", config)
        var run = try await ExporterProcess.runToExit(["serve", "--web.listen-address", "127.0.0.1:0", "--web.config.file", config])
        #expect(run.status == 1)
        #expect(run.output.contains("\(config): line 3: basic_auth_users.bob: not a bcrypt hash"), "\(run.output)")
        #expect(!run.output.contains("not-a-hash-but-a-secret"))

        try write("tls_server_config:\n  cert_file: server.crt\n  key_file: rogue-ca.key\n", config)
        run = try await ExporterProcess.runToExit(["serve", "--web.listen-address", "127.0.0.1:0", "--web.config.file", config])
        #expect(run.status == 1)
        #expect(run.output.contains("line 2: tls_server_config: cert_file and key_file cannot be used together"), "\(run.output)")

        try write("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  cipher_suites: [TLS_AES_128_GCM_SHA256]\n", config)
        run = try await ExporterProcess.runToExit(["serve", "--web.listen-address", "127.0.0.1:0", "--web.config.file", config])
        #expect(run.status == 1)
        #expect(run.output.contains("line 4: tls_server_config: unknown field") && run.output.contains("cipher_suites is not supported"), "\(run.output)")
    }

    @Test func reloadSwapsUsersAndABadFileKeepsTheOldOne() async throws {
        let pki = try TestCertificates()
        defer { pki.remove() }
        let config = pki.path("web.yml")
        try write("basic_auth_users: {alice: \"\(Self.aliceHash)\"}\n", config)
        let token = pki.path("token")
        try write("ingest-token\n", token)
        let exporter = try await ExporterProcess(["--web.config.file", config, "--web.enable-lifecycle", "--web.events-bearer-token-file", token])
        defer { exporter.stop() }
        let url = "http://127.0.0.1:\(exporter.port)"
        #expect(try curl(["--user", "alice:alice-pass", url + "/-/healthy"]).status == 200)

        // POST /events takes its bearer token (one Authorization header cannot carry both).
        let event = #"{"type":"job_started","job":"j","total_items":3}"#
        let posted = try curl(["-H", "Authorization: Bearer ingest-token", "--data-binary", event, url + "/events"])
        #expect(posted.status == 202, "\(posted)")
        #expect(try curl(["--data-binary", event, url + "/events"]).status == 401)
        #expect(try curl(["--user", "alice:alice-pass", "--data-binary", event, url + "/events"]).status == 401, "the token, not basic auth, opens /events")

        let bobHash = bcrypt("bob-pass", salt: "0123456789abcdefghijkl")
        try write("basic_auth_users: {bob: \"\(bobHash)\"}\n", config)
        kill(exporter.process.processIdentifier, SIGHUP)
        #expect(try await eventually(within: 10) { try curl(["--user", "bob:bob-pass", url + "/-/healthy"]).status == 200 }, "SIGHUP applies the new users")
        #expect(try curl(["--user", "alice:alice-pass", url + "/-/healthy"]).status == 401)

        try write("basic_auth_users: {bob: \"\(bobHash)\", carol: plaintext-secret}\n", config)
        let refused = try curl(["--user", "bob:bob-pass", "-X", "POST", url + "/-/reload"])
        #expect(refused.status == 500 && refused.body.contains("web config: \(config): line 1: basic_auth_users.carol: not a bcrypt hash"), "\(refused)")
        #expect(!refused.body.contains("plaintext-secret"))
        #expect(try curl(["--user", "bob:bob-pass", url + "/-/healthy"]).status == 200, "a bad file keeps the old users")
        #expect(try curl(["-X", "POST", url + "/-/reload"]).status == 401, "reload needs basic auth too")

        try write("basic_auth_users: {alice: \"\(Self.aliceHash)\"}\n", config)
        #expect(try curl(["--user", "bob:bob-pass", "-X", "POST", url + "/-/reload"]).status == 200)
        #expect(try curl(["--user", "alice:alice-pass", url + "/-/healthy"]).status == 200)

        exporter.stop()
        let log = exporter.fullLog()
        #expect(log.contains("web config not reloaded; the old one keeps running"))
        for secret in ["plaintext-secret", "alice-pass", "bob-pass", "ingest-token", String(bobHash.dropFirst(7)), String(Self.aliceHash.dropFirst(7))] {
            #expect(!log.contains(secret), "\(secret) is not in the log")
        }
    }

    @Test func reloadPutsNewTLSSettingsInPlace() async throws {
        let pki = try TestCertificates()
        defer { pki.remove() }
        let config = pki.path("web.yml")
        try write("basic_auth_users: {alice: \"\(Self.aliceHash)\"}\n", config)
        let exporter = try await ExporterProcess(["--web.config.file", config, "--web.enable-lifecycle"])
        defer { exporter.stop() }
        let port = exporter.port
        let auth = ["--user", "alice:alice-pass"]
        #expect(try curl(auth + ["http://127.0.0.1:\(port)/-/healthy"]).status == 200)

        // Plain HTTP to TLS on SIGHUP, on the same port.
        try write("tls_server_config: {cert_file: server.crt, key_file: server.key}\nbasic_auth_users: {alice: \"\(Self.aliceHash)\"}\n", config)
        kill(exporter.process.processIdentifier, SIGHUP)
        #expect(try await eventually(within: 15) {
            try curl(auth + ["--cacert", pki.caCert, "https://127.0.0.1:\(port)/-/healthy"]).status == 200
        }, "TLS is served after the reload")
        #expect(try curl(auth + ["http://127.0.0.1:\(port)/-/healthy"]).status == 0, "plain HTTP is not")

        // A new certificate (another CA), TLS 1.3 only and client certificates, by POST /-/reload.
        try write("""
            tls_server_config: {cert_file: server2.crt, key_file: server2.key, min_version: TLS13, client_auth_type: RequireAnyClientCert}
            basic_auth_users: {alice: "\(Self.aliceHash)"}
            """, config)
        let reloaded = try curl(auth + ["--cacert", pki.caCert, "-X", "POST", "https://127.0.0.1:\(port)/-/reload"])
        #expect(reloaded.status == 200, "\(reloaded)")
        let client = ["--cert", pki.clientCert, "--key", pki.clientKey]
        #expect(try await eventually(within: 15) {
            try curl(auth + client + ["--cacert", pki.secondCA, "https://127.0.0.1:\(port)/-/healthy"]).status == 200
        }, "the new certificate is served")
        #expect(try curl(auth + client + ["--cacert", pki.caCert, "https://127.0.0.1:\(port)/-/healthy"]).status == 0, "the old one is not")
        #expect(try curl(auth + client + ["--cacert", pki.secondCA, "--tls-max", "1.2", "https://127.0.0.1:\(port)/-/healthy"]).status == 0)
        #expect(try curl(auth + ["--cacert", pki.secondCA, "https://127.0.0.1:\(port)/-/healthy"]).status == 403)

        // A certificate that does not match its key: the reload fails and the served TLS stays.
        try write("tls_server_config: {cert_file: server.crt, key_file: server2.key}\nbasic_auth_users: {alice: \"\(Self.aliceHash)\"}\n", config)
        let refused = try curl(auth + client + ["--cacert", pki.secondCA, "-X", "POST", "https://127.0.0.1:\(port)/-/reload"])
        #expect(refused.status == 500 && refused.body.contains("cert_file and key_file cannot be used together"), "\(refused)")
        #expect(try curl(auth + client + ["--cacert", pki.secondCA, "https://127.0.0.1:\(port)/-/healthy"]).status == 200)

        exporter.stop()
        let log = exporter.fullLog()
        #expect(log.contains("new TLS settings in place"))
        let key = try String(contentsOfFile: pki.secondServerKey, encoding: .utf8).split(separator: "\n")[1]
        #expect(!log.contains(key), "no key in the log")
    }

    /// A real Prometheus scrapes over TLS (checking the server against the test CA) with basic auth.
    @Test func prometheusScrapesOverTLSWithBasicAuth() async throws {
        let pki = try TestCertificates()
        defer { pki.remove() }
        let config = pki.path("web.yml")
        try write("""
            tls_server_config: {cert_file: server.crt, key_file: server.key}
            basic_auth_users: {prometheus: "\(bcrypt("scrape-pass"))"}
            """, config)
        let exporter = try await ExporterProcess(["--web.config.file", config, "--demo"])
        defer { exporter.stop() }
        let prometheusConfig = pki.path("prometheus.yml")
        try write("""
            global: {scrape_interval: 1s}
            scrape_configs:
              - job_name: secured
                scheme: https
                tls_config: {ca_file: "\(pki.caCert)"}
                basic_auth: {username: prometheus, password: scrape-pass}
                static_configs: [{targets: ["127.0.0.1:\(exporter.port)"]}]
              - job_name: wrong-password
                scheme: https
                tls_config: {ca_file: "\(pki.caCert)"}
                basic_auth: {username: prometheus, password: nope}
                static_configs: [{targets: ["127.0.0.1:\(exporter.port)"]}]
            """, prometheusConfig)
        let prometheus = try PrometheusProcess(config: prometheusConfig, storage: pki.path("tsdb"))
        defer { prometheus.stop() }
        func query(_ promql: String) async throws -> [[String: Any]] { try await prometheus.query(promql) }
        #expect(try await eventually(within: 30) { try await query(#"up{job="secured"} == 1"#).count == 1 }, "up == 1 over TLS with basic auth")
        #expect(try await eventually(within: 30) { try await !query(#"progress_job_progress_ratio{job="secured"}"#).isEmpty })
        #expect(try await eventually(within: 30) { try await query(#"up{job="wrong-password"} == 0"#).count == 1 }, "a wrong password scrapes nothing")
    }

    /// Half-open TLS handshakes (5 bytes of a ClientHello, then nothing) cost no CPU while they wait:
    /// libmicrohttpd 0.9.75 spun a core on each under epoll (10 of them took both cores), so a TLS
    /// server runs its connections on poll(2).
    @Test func halfOpenTLSHandshakesCostNoCPU() async throws {
        let pki = try TestCertificates()
        defer { pki.remove() }
        let config = pki.path("web.yml")
        try write("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n", config)
        let exporter = try await ExporterProcess(["--web.config.file", config])
        defer { exporter.stop() }
        let stalled = try (0..<10).map { _ in try Socket(port: exporter.port) }
        for socket in stalled { socket.trySend([0x16, 0x03, 0x01, 0x02, 0x00]) }
        let pid = exporter.process.processIdentifier
        let before = try cpuSeconds(pid)
        try await Task.sleep(for: .seconds(3))
        let used = try cpuSeconds(pid) - before
        print("10 half-open TLS handshakes: exporter CPU \(used) s over 3 s")
        #expect(used < 0.5, "the exporter used \(used) s of CPU over 3 s with 10 stalled handshakes")
        // And the server still answers a real TLS client meanwhile.
        #expect(try curl(["--cacert", pki.caCert, "https://127.0.0.1:\(exporter.port)/-/healthy"]).status == 200)
        _ = stalled
    }
}
