import Foundation
import Testing

/// What an exporter reachable by others must refuse, through the real binary on 127.0.0.1.
@Suite(.serialized) struct SecurityEndToEndTests {
    let folder: URL

    init() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("pe-sec-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    func file(_ name: String, _ contents: String) throws -> String {
        let url = folder.appendingPathComponent(name)
        try Data(contents.utf8).write(to: url)
        return url.path
    }

    // MARK: - POST /-/reload

    @Test func reloadIsRefusedWithoutEnableLifecycleAndSaysWhichFlagAllowsIt() async throws {
        defer { try? FileManager.default.removeItem(at: folder) }
        let config = try file("config.yml", "rules:\n  - kind: agent_lost\n    after: 1h\n")
        let exporter = try await ExporterProcess(["--config.file", config])
        defer { exporter.stop() }
        // A broken file on disk: had the reload run, it would fail and the metric would say 0.
        _ = try file("config.yml", "rules:\n  - kind: agent_lost\n    after: soon\n")
        let refused = try await exporter.request("POST", "/-/reload")
        #expect(refused.status == 403)
        #expect(refused.body.contains("--web.enable-lifecycle"))
        #expect(sample(try await exporter.metrics(), "progress_exporter_config_last_reload_successful") == 1, "nothing was re-read")
        #expect(try await exporter.request("GET", "/-/reload").status == 405)

        _ = try file("config.yml", "rules:\n  - kind: agent_lost\n    after: 1h\n")
        let enabled = try await ExporterProcess(["--config.file", config, "--web.enable-lifecycle"])
        defer { enabled.stop() }
        _ = try file("config.yml", "rules:\n  - kind: agent_lost\n    after: 2h\n")
        let reloaded = try await enabled.request("POST", "/-/reload")
        #expect(reloaded.status == 200)
        #expect(reloaded.body.contains("reloaded"))
    }

    // MARK: - Bearer token

    @Test func theTokenIsComparedByteWiseAndTheSchemeInAnyCase() async throws {
        defer { try? FileManager.default.removeItem(at: folder) }
        let token = try file("token", "toKen;1-s3cret\n")
        let exporter = try await ExporterProcess(["--web.events-bearer-token-file", token])
        defer { exporter.stop() }
        func post(_ authorization: String?) async throws -> Int {
            let headers = authorization.map { ["Authorization": $0] } ?? [:]
            return try await exporter.request("POST", "/events", body: #"{"type":"job_started","job":"j"}"#, headers: headers).status
        }
        #expect(try await post("Bearer toKen;1-s3cret") == 202)
        #expect(try await post("bearer toKen;1-s3cret") == 202)
        #expect(try await post("BEARER toKen;1-s3cret") == 202)
        #expect(try await post("Bearer  toKen;1-s3cret") == 202, "one or more spaces after the scheme")
        #expect(try await post(nil) == 401)
        #expect(try await post("Bearer toKen;1-s3creT") == 401)
        #expect(try await post("Bearer token;1-s3cret") == 401, "the token itself is case-sensitive")
        #expect(try await post("Bearer toKen;1-s3cre") == 401)
        #expect(try await post("Bearer toKen;1-s3cret2") == 401)
        #expect(try await post("Bearer ") == 401)
        #expect(try await post("Bearertoken;1-s3cret") == 401)
        #expect(try await post("Basic dG9rZW4=") == 401)
        // Canonically equivalent to the token for Swift's String == (KELVIN SIGN is K, GREEK
        // QUESTION MARK is ;), but other bytes: refused.
        #expect(try await post("Bearer to\u{212A}en\u{37E}1-s3cret") == 401)
    }

    @Test(arguments: [
        ("empty", "", "empty"),
        ("newline", "\n", "empty"),
        ("crlf", "\r\n", "empty"),
        ("spaced", "two words\n", "offset 3"),
        ("missing", nil, "No such file or directory"),
    ] as [(String, String?, String)])
    func aTokenFileThatIsEmptyOrUnreadableIsRefusedAtStart(name: String, contents: String?, reason: String) async throws {
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = try contents.map { try file(name, $0) } ?? folder.appendingPathComponent(name).path
        let run = try await ExporterProcess.runToExit(["serve", "--web.listen-address", "127.0.0.1:0", "--web.events-bearer-token-file", path])
        #expect(run.status != nil && run.status != 0, "exits by itself, with an error: \(run.output)")
        #expect(run.output.contains("--web.events-bearer-token-file \(path)"))
        #expect(run.output.contains(reason))
        #expect(!run.output.contains("two words"), "the token is not echoed")
    }

    @Test func aFolderIsNotATokenFile() async throws {
        defer { try? FileManager.default.removeItem(at: folder) }
        let run = try await ExporterProcess.runToExit(["serve", "--web.listen-address", "127.0.0.1:0", "--web.events-bearer-token-file", folder.path])
        #expect(run.status != nil && run.status != 0)
        #expect(run.output.contains("Is a directory"))
    }

    @Test func theTokenAppearsNowhere() async throws {
        defer { try? FileManager.default.removeItem(at: folder) }
        let secret = "tok-9f8e7d6c5b4a"
        let token = try file("token", secret + "\n")
        let exporter = try await ExporterProcess(["--web.events-bearer-token-file", token, "--demo", "--demo.item-seconds", "0.2"])
        var bodies: [String] = []
        for path in ["/", "/metrics", "/api/v1/jobs", "/api/v1/alerts", "/-/ready", "/-/healthy", "/nope"] {
            bodies.append(try await exporter.request("GET", path).body)
        }
        bodies.append(try await exporter.request("POST", "/events", body: "{}", headers: ["Authorization": "Bearer wrong"]).body)
        bodies.append(try await exporter.request("POST", "/-/reload").body)
        #expect(exporter.stop() == 0)
        let log = exporter.fullLog()
        #expect(log.contains("listening"), "the log was read")
        for text in bodies + [log] { #expect(!text.contains(secret)) }
    }

    // MARK: - Framing

    /// curl sends repeated headers as given, which URLSession does not.
    func curl(_ port: Int, _ headers: [String], body: String) throws -> (status: Int, body: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        process.arguments = ["-sS", "-m", "10", "-w", "\n%{http_code}", "--data-binary", body]
            + headers.flatMap { ["-H", $0] } + ["http://127.0.0.1:\(port)/events"]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let status = Int(text.split(separator: "\n").last ?? "") ?? 0
        return (status, String(text.dropLast(String(status).count)))
    }

    @Test func conflictingContentLengthsAreRefusedAndIdenticalOnesAccepted() async throws {
        let exporter = try await ExporterProcess([])
        defer { exporter.stop() }
        let event = #"{"type":"job_started","job":"smuggled","total_items":7}"#
        let length = event.utf8.count
        // libmicrohttpd 0.9.75 alone frames by the first header and applies the event (202).
        let longFirst = try curl(exporter.port, ["Content-Length: \(length)", "Content-Length: 5"], body: event)
        #expect(longFirst.status == 400)
        #expect(longFirst.body.contains("conflicting Content-Length headers: \(length), 5"))
        let shortFirst = try curl(exporter.port, ["Content-Length: 5", "Content-Length: \(length)"], body: event)
        #expect(shortFirst.status == 400)
        #expect(shortFirst.body.contains("conflicting Content-Length"))
        let both = try curl(exporter.port, ["Content-Length: \(length)", "Transfer-Encoding: chunked"], body: event)
        #expect(both.status == 400)
        #expect(both.body.contains("both Transfer-Encoding and Content-Length"))
        #expect(sample(try await exporter.metrics(), #"progress_job_items{job_name="smuggled"}"#) == nil, "no event was applied")

        let identical = try curl(exporter.port, ["Content-Length: \(length)", "Content-Length: \(length)"], body: event)
        #expect(identical.status == 202)
        #expect(sample(try await exporter.metrics(), #"progress_job_items{job_name="smuggled"}"#) == 7)
    }

    // MARK: - Regular expressions

    @Test func aNestedRepetitionPatternDoesNotStallScrapes() async throws {
        defer { try? FileManager.default.removeItem(at: folder) }
        let config = try file("config.yml", "rules:\n  - kind: agent_stalled\n    jobs: \"(a+)+$\"\n")
        let exporter = try await ExporterProcess([
            "--config.file", config, "--agents.keep", "(a+)+$", "--agents.job-max-series", "(a+)+$=100",
        ])
        defer { exporter.stop() }
        // 31 a's and one other letter: about 2^31 steps per match for a backtracking engine (the old
        // NSRegularExpression took about 2 s for each; a scrape matches every agent id and the job id).
        let job = String(repeating: "a", count: 31) + "b"
        let agents = "bcdefghi".map { String(repeating: "a", count: 31) + String($0) }
        let events = agents.map { #"{"type":"agent_started","job":"\#(job)","agent":"\#($0)"}"# }.joined(separator: "\n")
        #expect(try await exporter.request("POST", "/events", body: events).status == 202)
        // Each scrape used to take about 18 s; RE2 answers in milliseconds. The 5 s bound is far
        // from both, so a shared, slow machine does not make it flaky.
        for _ in 0..<3 {
            let scrape = try await exporter.request("GET", "/metrics", timeout: 5)
            #expect(scrape.status == 200)
            #expect(sample(scrape.body, #"progress_job_agents{job_name="\#(job)",state="running"}"#) == 8)
        }
    }

    @Test func anInvalidPatternIsRefusedWithTheFlagOrLineAndRE2sReason() async throws {
        defer { try? FileManager.default.removeItem(at: folder) }
        let keep = try await ExporterProcess.runToExit(["serve", "--web.listen-address", "127.0.0.1:0", "--agents.keep", "w-(a"])
        #expect(keep.status != nil && keep.status != 0)
        #expect(keep.output.contains("--agents.keep: \"w-(a\" is not a valid regular expression: missing ): w-(a"))
        let limit = try await ExporterProcess.runToExit(["serve", "--web.listen-address", "127.0.0.1:0", "--agents.job-max-series", "(?<=x)y=3"])
        #expect(limit.status != nil && limit.status != 0)
        #expect(limit.output.contains("--agents.job-max-series: \"(?<=x)y\" is not a valid regular expression: invalid perl operator: (?<"))

        let config = try file("bad.yml", "rules:\n  - kind: agent_stalled\n    jobs: \"etl-[\"\n")
        let check = try await ExporterProcess.runToExit(["check-config", config])
        #expect(check.status == 1)
        #expect(check.output.contains("line 3: rules[0].jobs: \"etl-[\" is not a valid regular expression: missing ]: ["))
        let serve = try await ExporterProcess.runToExit(["serve", "--web.listen-address", "127.0.0.1:0", "--config.file", config])
        #expect(serve.status != nil && serve.status != 0)
        #expect(serve.output.contains("missing ]: ["))
    }
}
