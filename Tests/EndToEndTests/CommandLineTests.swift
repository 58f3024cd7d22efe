import Foundation
import Testing
import TestSupport

/// What the binary says for help, version and flags it refuses: what was wrong and what is accepted.
@Suite struct CommandLineTests {
    @Test func helpWithoutASubcommandShowsTheServeFlagsAndTheSubcommands() async throws {
        let (status, output) = try await ExporterProcess.runToExit(["--help"])
        #expect(status == 0)
        for flag in ["--web.listen-address", "--events.file", "--jobs.retention", "--log.level", "--log.format", "--version"] {
            #expect(output.contains(flag), "\(flag) missing from --help")
        }
        #expect(output.contains("simulate") && output.contains("check-config"))
        #expect(output.contains("(default: 1h)"), "duration defaults are shown")
    }

    /// replay's help: its own flags first, then only the exporter's flags a replay takes; the ones it
    /// refuses (sources, storage, demo) are not listed and are refused when given.
    @Test func replayHelpShowsItsOwnFlagsFirstAndNoneItRefuses() async throws {
        let (status, help) = try await ExporterProcess.runToExit(["replay", "--help"])
        #expect(status == 0)
        let sections = help.split(separator: "\n").filter { $0.hasSuffix(":") && $0.uppercased() == $0 }.map(String.init)
        #expect(sections == ["ARGUMENTS:", "REPLAY OPTIONS:", "INGEST AND TRACKING OPTIONS:", "WEB OPTIONS (WITH --SERVE):",
                             "ALERTING OPTIONS (WITH --SERVE):", "LOG OPTIONS:", "OPTIONS:"], "\(sections)")
        for refused in ["--events.file", "--events.sse-url", "--demo", "--storage.path", "--storage.journal"] {
            #expect(!help.split(separator: "\n").contains { $0.hasPrefix("  " + refused + " ") || $0 == "  " + refused }, "\(refused) in replay --help")
        }
        let (refusedStatus, message) = try await ExporterProcess.runToExit(["replay", "--storage.path", "/tmp/x", "a.jsonl"])
        #expect(refusedStatus == 64)
        #expect(message.hasPrefix("Error: replay keeps its state in memory: --storage.path and --storage.journal are for the live exporter\n"), "\(message)")
        let (_, simulate) = try await ExporterProcess.runToExit(["simulate", "--help"])
        #expect(simulate.replacingOccurrences(of: "\n", with: " ").replacingOccurrences(of: #" +"#, with: " ", options: .regularExpression)
            .contains("Jobs running at once; each starts its next run (NAME-run2, -run3, ...) 30 s of simulated time after a run ends"), "\(simulate)")
    }

    @Test(arguments: ["bash", "zsh", "fish"])
    func completionScriptsKnowTheFlagsAndSubcommands(shell: String) async throws {
        let (status, output) = try await ExporterProcess.runToExit(["--generate-completion-script", shell])
        #expect(status == 0)
        #expect(output.contains("log.level") && output.contains("events.file") && output.contains("simulate") && output.contains("check-config"))
    }

    @Test func versionPrintsTheVersionAndBuildInfo() async throws {
        let (status, output) = try await ExporterProcess.runToExit(["--version"])
        #expect(status == 0)
        #expect(output.hasPrefix("progress-exporter, version 0."))
        #expect(output.contains("swift version: 6.") && output.contains("platform: linux/"))
        // The commit it was built from: this checkout is a git checkout, so not "unknown".
        let revision = try #require(output.firstMatch(of: /\(revision: ([0-9a-f]{12})\)/)?.output.1, "\(output)")
        // build_info carries the same revision.
        let exporter = try await ExporterProcess([])
        defer { exporter.stop() }
        let metrics = try await exporter.metrics()
        #expect(metrics.contains(#"progress_exporter_build_info{version="0.1.0",revision="\#(revision)",swiftversion="6."#), "\(metrics.split(separator: "\n").filter { $0.contains("build_info") })")
    }

    /// Version and help go to standard output (scripts read them there); errors to standard error.
    @Test func versionGoesToStandardOutputAndAMistypedFlagNamesTheNearest() throws {
        func run(_ arguments: [String]) throws -> (status: Int32, out: String, err: String) {
            let process = Process()
            process.executableURL = try ExporterProcess.binary
            process.arguments = arguments
            let out = Pipe(), err = Pipe()
            process.standardOutput = out
            process.standardError = err
            try process.run()
            let stdout = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            return (process.terminationStatus, stdout, stderr)
        }
        let version = try run(["--version"])
        #expect(version.status == 0 && version.out.hasPrefix("progress-exporter, version 0.") && version.err.isEmpty)
        let mistyped = try run(["serve", "--web.listen", ":1"])
        #expect(mistyped.status == 64)
        #expect(mistyped.err.hasPrefix("Error: Unknown option '--web.listen' (did you mean --web.listen-address?)"), "\(mistyped.err)")
    }

    @Test func aBadDurationSaysTheSyntax() async throws {
        let (status, output) = try await ExporterProcess.runToExit(["--jobs.retention", "5 minutes"])
        #expect(status == 64)
        #expect(output.contains("'5 minutes'") && output.contains("--jobs.retention"))
        #expect(output.contains("30s, 5m, 1h30m"), "\(output)")
        let simulate = try await ExporterProcess.runToExit(["simulate", "--duration", "ten"])
        #expect(simulate.status == 64 && simulate.output.contains("30s, 5m, 1h30m"))
    }

    @Test func aNegativeSpeedIsRefusedForWhatItIs() async throws {
        let (status, output) = try await ExporterProcess.runToExit(["simulate", "--speed", "-1"])
        #expect(status == 64)
        #expect(!output.contains("Missing value"), "\(output)")
        #expect(output.contains("--speed must be 0") && output.contains("not -1"), "\(output)")
        let endless = try await ExporterProcess.runToExit(["simulate", "--speed", "0"])
        #expect(endless.status == 64 && endless.output.contains("--speed 0 needs --duration"))
    }

    @Test func zeroWebThreadsNamesTheFlag() async throws {
        let (status, output) = try await ExporterProcess.runToExit(["--web.threads", "0"])
        #expect(status == 64)
        #expect(output.contains("--web.threads must be 1 or more, not 0"), "\(output)")
        #expect(!output.contains("threadPoolSize"))
        let negative = try await ExporterProcess.runToExit(["--agents.max-series=-5"])
        #expect(negative.status == 64 && negative.output.contains("--agents.max-series must be 0 or more, not -5"), "\(negative.output)")
    }

    /// The simulation's sizes come from the command line: a negative count crashed `simulate`, a
    /// huge one took all memory, NaN was taken as a duration. Each is refused, naming the flag.
    @Test(arguments: [
        (["simulate", "--jobs=-1"], "--jobs must be 1 to 1000, not -1"),
        (["simulate", "--items=-3"], "--items must be 1 to 100000000, not -3"),
        (["simulate", "--agents=100000000"], "--agents must be 1 to 100000, not 100000000"),
        (["simulate", "--jobs=1000", "--agents=5000"], "--agents times the jobs must be at most 1000000 agents in all, not 5000000"),
        (["simulate", "--item-seconds=nan"], "--item-seconds must be more than 0 and at most 86400 seconds, not nan"),
        (["simulate", "--failure-rate=7"], "--failure-rate must be 0 to 1, not 7.0"),
        (["serve", "--demo", "--demo.jobs=0"], "--demo.jobs must be 1 to 1000, not 0"),
        (["serve", "--demo", "--demo.item-seconds=-1"], "--demo.item-seconds must be more than 0 and at most 86400 seconds, not -1.0"),
    ])
    func simulationSizesOutOfRangeAreRefusedNamingTheFlag(arguments: [String], reason: String) async throws {
        let (status, output) = try await ExporterProcess.runToExit(arguments + ["--duration", "1s", "--speed", "0"].filter { _ in arguments[0] == "simulate" })
        #expect(status == 64)
        #expect(output.contains(reason), "\(output)")
    }

    @Test func aBadRegularExpressionNamesTheFlagAndRE2sReason() async throws {
        let (status, output) = try await ExporterProcess.runToExit(["--agents.keep", "w-(a"])
        #expect(status != 0 && status != nil)
        #expect(output.contains("--agents.keep") && output.contains("missing )"), "\(output)")
    }

    @Test func aBadLogLevelListsTheAcceptedOnes() async throws {
        let (status, output) = try await ExporterProcess.runToExit(["--log.level", "verbose"])
        #expect(status == 64)
        #expect(output.contains("'debug', 'info', 'warn' or 'error'"), "\(output)")
        let format = try await ExporterProcess.runToExit(["--log.format", "text"])
        #expect(format.status == 64 && format.output.contains("'logfmt' and 'json'"), "\(format.output)")
    }

    @Test func aListenAddressErrorGivesExamplesWithTheDefaultPort() async throws {
        let (status, output) = try await ExporterProcess.runToExit(["--web.listen-address", "localhost"])
        #expect(status != 0)
        #expect(output.contains(":9465") && !output.contains("9464"), "\(output)")
    }

    @Test func aPortInUseNamesTheFlag() async throws {
        let first = try await ExporterProcess([])
        defer { first.stop() }
        let (status, output) = try await ExporterProcess.runToExit(["--web.listen-address", "127.0.0.1:\(first.port)"])
        #expect(status == 1)
        #expect(output.contains(#"err="http: listen 127.0.0.1:\#(first.port): address already in use (--web.listen-address: another process listens there, perhaps another exporter; stop it or give another address, e.g. --web.listen-address=:9466)""#), "\(output)")
    }

    @Test func simulateToADeadPortSaysItCouldNotConnectWithoutTheUsage() async throws {
        let port = try freePort()
        let (status, output) = try await ExporterProcess.runToExit(["simulate", "--url", "http://127.0.0.1:\(port)/events", "--duration", "1m"])
        #expect(status == 1)
        #expect(output.contains("could not send events to http://127.0.0.1:\(port)/events"), "\(output)")
        #expect(!output.contains("Usage:") && !output.contains("USAGE:"), "\(output)")
    }

    @Test func simulateAsFastAsPossibleEndsNowNotInTheFuture() throws {
        let before = Date().timeIntervalSince1970
        let process = Process()
        process.executableURL = try ExporterProcess.binary
        process.arguments = ["simulate", "--speed", "0", "--duration", "10m", "--jobs", "1", "--agents", "3"]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let after = Date().timeIntervalSince1970
        let times = text.split(separator: "\n").compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["ts"] as? Double
        }
        #expect(process.terminationStatus == 0)
        #expect(times.count > 10)
        #expect((times.max() ?? .infinity) <= after + 1, "no event after the real end")
        #expect((times.min() ?? 0) >= before - 600 - 1 && (times.min() ?? 0) < before - 500, "the simulated 10 minutes end now")
    }

    @Test func jsonLogLinesCarryTheSameFields() async throws {
        let exporter = try await ExporterProcess(["--log.format", "json"])
        exporter.stop()
        let lines = exporter.fullLog().split(separator: "\n").map(String.init)
        let listening = try #require(lines.first { $0.contains("listening") })
        let object = try #require(try JSONSerialization.jsonObject(with: Data(listening.utf8)) as? [String: String])
        #expect(object["level"] == "info" && object["msg"] == "listening" && object["port"] == "\(exporter.port)")
        let ts = try #require(object["ts"])
        #expect(ts.count == 24 && ts.hasSuffix("Z") && ts.contains("."), "RFC 3339, UTC, milliseconds: \(ts)")
    }

    @Test func logfmtIsTheDefaultWithTheSameTimestamps() async throws {
        let exporter = try await ExporterProcess([])
        exporter.stop()
        let line = try #require(exporter.fullLog().split(separator: "\n").first { $0.contains("msg=listening") })
        #expect(line.range(of: #"^ts=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z level=info msg=listening "#, options: .regularExpression) != nil, "\(line)")
    }
}

@Suite struct ManualPageTests {
    /// `man` reads the page without a warning at 80 columns (no "can't break line"), each flag is
    /// listed once, and it has examples.
    @Test func theManPageReadsCleanlyAndListsEachFlagOnce() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let page = root.appendingPathComponent("docs/progress-exporter.1").path
        #expect(FileManager.default.isExecutableFile(atPath: "/usr/bin/man"), "man is missing: run scripts/install-deps.sh")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/man")
        process.arguments = ["-l", page]
        process.environment = ["MANWIDTH": "80", "MANPAGER": "cat", "PAGER": "cat", "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"]
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let warnings = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(warnings.isEmpty, "\(warnings)")
        #expect(text.contains("EXAMPLES") && text.contains("progress-exporter --demo"))
        let source = try String(contentsOfFile: page, encoding: .utf8)
        for flag in ["web.listen-address", "events.file", "storage.path", "log.level", "events.format"] {
            #expect(source.components(separatedBy: ".It Fl -\(flag) ").count == 2, "--\(flag) listed once")
        }
    }

    @Test func theManPageNamesEveryFlagHelpLists() async throws {
        let page = try String(
            contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("docs/progress-exporter.1"), encoding: .utf8)
        for command in [["--help"], ["simulate", "--help"], ["check-config", "--help"], ["replay", "--help"], ["export", "--help"]] {
            let help = try await ExporterProcess.runToExit(command).output
            var flags = Set<String>()
            for line in help.split(separator: "\n") {
                guard let range = line.range(of: #"^  (-h, )?--[a-z][a-z0-9.-]*[a-z0-9]"#, options: .regularExpression) else { continue }
                flags.insert(String(line[range].split(separator: " ").last!))
            }
            #expect(flags.count >= 2 && flags.contains("--help"))
            for flag in flags {
                #expect(page.contains("Fl -" + flag.dropFirst(2)), "\(flag) is not in docs/progress-exporter.1: run scripts/generate-manual.sh")
            }
        }
    }
}
