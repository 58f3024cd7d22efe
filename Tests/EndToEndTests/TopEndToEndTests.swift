import Foundation
import Synchronization
import TestSupport
import Testing

/// `progress-exporter top` against the real exporter: `--once` and plain lines into a pipe, and the
/// terminal view in a detached tmux session of a fixed size (tmux from scripts/install-deps.sh).
@Suite(.serialized, .timeLimit(.minutes(3))) struct TopEndToEndTests {
    var now: Int { Int(Date().timeIntervalSince1970) }

    func started(_ job: String, items: Int) -> String {
        #"{"type":"job_started","job":"\#(job)","total_items":\#(items),"ts":\#(now)}"#
    }

    func completed(_ job: String, agent: String, items: Range<Int>) -> String {
        items.map { #"{"type":"item_completed","job":"\#(job)","agent":"\#(agent)","item":"i\#($0)","ts":\#(now)}"# }.joined(separator: "\n")
    }

    @Test func onceToAPipePrintsASummaryLinePerJobAndExits() async throws {
        let exporter = try await ExporterProcess([])
        defer { exporter.stop() }
        _ = try await exporter.request("POST", "/events", body: [
            started("build", items: 10), completed("build", agent: "w1", items: 0 ..< 3),
            // A hostile id: ESC sequences and a bell must not reach the output.
            started(#"evil\u001b[2J\u0007"#, items: 4),
        ].joined(separator: "\n"))
        let (status, output) = try await ExporterProcess.runToExit(["top", "--url", exporter.base, "--once"])
        #expect(status == 0, "\(output)")
        let lines = output.split(separator: "\n")
        #expect(lines.count == 2, "\(output)")
        let build = try #require(lines.first { $0.hasPrefix("job=build ") })
        #expect(build.contains("done=3 planned=10 remaining=7"), "\(build)")
        #expect(build.contains("progress=30.0%"))
        #expect(lines.contains { $0.hasPrefix("job=evil[2J ") }, "\(output)")
        #expect(!output.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" }, "\(output.debugDescription)")

        // With a job: its agents worth a look follow.
        let (_, withAgents) = try await ExporterProcess.runToExit(["top", "--url", exporter.base, "--once", "build"])
        #expect(withAgents.contains("job=build agent=w1 "), "\(withAgents)")

        // Nothing listening: a message and status 1, at once.
        let (failed, message) = try await ExporterProcess.runToExit(["top", "--url", "http://127.0.0.1:\(try freePort())", "--once"])
        #expect(failed == 1)
        #expect(message.contains("progress-exporter top:"), "\(message)")
    }

    @Test func plainLinesFollowTheStreamWhenOutputIsNotATerminal() async throws {
        let exporter = try await ExporterProcess([])
        defer { exporter.stop() }
        _ = try await exporter.request("POST", "/events", body: [started("etl", items: 20), completed("etl", agent: "a", items: 0 ..< 2)].joined(separator: "\n"))
        let process = Process()
        process.executableURL = try ExporterProcess.binary
        process.arguments = ["top", "--url", exporter.base]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        let received = Mutex("")
        output.fileHandleForReading.readabilityHandler = { handle in
            let chunk = handle.availableData
            received.withLock { $0 += String(decoding: chunk, as: UTF8.self) }
        }
        try process.run()
        defer {
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
            output.fileHandleForReading.readabilityHandler = nil
        }
        #expect(await eventually { received.withLock { $0.contains("job=etl status=running done=2 planned=20") } }, "\(received.withLock { $0 })")
        _ = try await exporter.request("POST", "/events", body: completed("etl", agent: "a", items: 2 ..< 7))
        #expect(await eventually { received.withLock { $0.contains("job=etl status=running done=7 planned=20") } }, "\(received.withLock { $0 })")
        #expect(!received.withLock { $0.contains("\u{1B}") })
        kill(process.processIdentifier, SIGTERM)
        #expect(await eventually { !process.isRunning })
    }

    /// tmux on its own server socket (`-L`), killed in every path.
    final class Tmux {
        let socket = "pe-top-\(UUID().uuidString.prefix(8))"
        let session = "top"

        /// Runs a tmux command; its output goes through a file. Not with `Process`: it learns of a child's end
        /// when a descriptor the child inherited closes, and the tmux server a first command starts keeps it.
        @discardableResult
        func run(_ arguments: [String]) throws -> String {
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("pe-tmux-\(UUID().uuidString)").path
            defer { unlink(file) }
            var actions = posix_spawn_file_actions_t()
            posix_spawn_file_actions_init(&actions)
            defer { posix_spawn_file_actions_destroy(&actions) }
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
            posix_spawn_file_actions_addopen(&actions, 1, file, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
            let argv = (["/usr/bin/tmux", "-L", socket, "-f", "/dev/null"] + arguments).map { strdup($0) } + [nil]
            defer { argv.forEach { free($0) } }
            var pid: pid_t = 0
            let spawned = posix_spawn(&pid, "/usr/bin/tmux", &actions, nil, argv, environ)
            guard spawned == 0 else { throw TestFailure("posix_spawn tmux: \(spawned)") }
            var status: Int32 = 0
            let deadline = Date().addingTimeInterval(10)
            while waitpid(pid, &status, WNOHANG) == 0 {
                if Date() > deadline {
                    Foundation.kill(pid, SIGKILL)
                    waitpid(pid, &status, 0)
                    throw TestFailure("tmux \(arguments.first ?? "") did not end within 10 s")
                }
                Thread.sleep(forTimeInterval: 0.01)
            }
            let text = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
            // Exited (low 7 bits 0) with status 0.
            guard status & 0x7F == 0, (status >> 8) & 0xFF == 0 else { throw TestFailure("tmux \(arguments.first ?? ""): \(text)") }
            return text
        }

        func pane() -> String { (try? run(["capture-pane", "-p", "-t", session])) ?? "" }

        /// Kills what runs in the panes (the shell, top, sleep: one process group per pane, as the shell
        /// has no job control), then the server. SIGKILL: the test runner may hand SIGHUP down blocked.
        func kill() {
            let pids = ((try? run(["list-panes", "-s", "-t", session, "-F", "#{pane_pid}"])) ?? "").split(separator: "\n").compactMap { Int32($0) }
            for pid in pids where pid > 1 { Foundation.kill(-pid, SIGKILL) }
            _ = try? run(["kill-server"])
        }
    }

    @Test func theWatchedJobsMostCommonErrorInTmux() async throws {
        let exporter = try await ExporterProcess([])
        defer { exporter.stop() }
        let failures = (0..<3).map { n in #"{"type":"item_failed","job":"crawl","agent":"w1","item":"i\#(n)","error":"HTTP \#(500 + n) from upstream","retryable":true}"# }
        _ = try await exporter.request("POST", "/events", body: ([started("crawl", items: 10), #"{"type":"agent_started","job":"crawl","agent":"w1","item":"i9"}"#] + failures
            + [#"{"type":"item_failed","job":"crawl","agent":"w1","item":"i4","error":"\u001b[31mred\u001b[0m","retryable":true}"#]).joined(separator: "\n"))
        let tmux = Tmux()
        defer { tmux.kill() }
        let binary = try ExporterProcess.binary.path
        try tmux.run(["new-session", "-d", "-s", tmux.session, "-x", "120", "-y", "30",
                      "'\(binary)' top --url \(exporter.base) crawl; sleep 600"])
        #expect(await eventually(within: 20) { tmux.pane().contains("most common error of crawl: HTTP N from upstream (3 of 4 failed attempts)") }, "\(tmux.pane())")
        let (_, plain) = try await ExporterProcess.runToExit(["top", "--url", exporter.base, "--once"])
        #expect(plain.contains(#"top_error="HTTP N from upstream""#), "\(plain)")
    }

    /// At 60, 80 and 120 columns: 199 of 200 is not 100 %, two long names that differ only near
    /// their end stay apart, the header's columns sit over the data's, and a finished job shows when it
    /// ended (its last item, 10 minutes before top started).
    @Test(arguments: [60, 80, 120]) func theJobTableInTmuxAtWidth(_ width: Int) async throws {
        let exporter = try await ExporterProcess([])
        defer { exporter.stop() }
        let early = now - 900, ended = now - 600
        _ = try await exporter.request("POST", "/events", body: [
            started("etl-nightly-reprocessing-run1", items: 200), completed("etl-nightly-reprocessing-run1", agent: "w1", items: 0 ..< 199),
            started("etl-nightly-reprocessing-run2", items: 200), completed("etl-nightly-reprocessing-run2", agent: "w2", items: 0 ..< 50),
            #"{"type":"job_started","job":"backfill","total_items":2,"ts":\#(early)}"#,
            #"{"type":"item_completed","job":"backfill","agent":"b","item":"a","ts":\#(early + 60)}"#,
            #"{"type":"item_completed","job":"backfill","agent":"b","item":"b","ts":\#(ended)}"#,
            #"{"type":"job_completed","job":"backfill","ts":\#(ended + 5)}"#,
        ].joined(separator: "\n"))
        let tmux = Tmux()
        defer { tmux.kill() }
        let binary = try ExporterProcess.binary.path
        try tmux.run(["new-session", "-d", "-s", tmux.session, "-x", "\(width)", "-y", "20",
                      "TZ=UTC '\(binary)' top --url \(exporter.base); sleep 600"])
        #expect(await eventually(within: 20) { tmux.pane().contains("199/200") && tmux.pane().contains("backfill") }, "\(tmux.pane())")
        let screen = tmux.pane().split(separator: "\n").map(String.init)
        let header = try #require(screen.first { $0.hasPrefix("JOB") }, "\(screen)")
        let run1 = try #require(screen.first { $0.hasPrefix("etl") && $0.contains("199/200") }, "\(screen)")
        let run2 = try #require(screen.first { $0.hasPrefix("etl") && $0.contains("50/200") }, "\(screen)")
        let backfill = try #require(screen.first { $0.hasPrefix("backfill") }, "\(screen)")
        for line in screen { #expect(line.count <= width, "\(line)") }
        #expect(run1.contains(" 99% ") && !run1.contains("100%"), "\(run1)")
        let name1 = run1.prefix { $0 != " " }, name2 = run2.prefix { $0 != " " }
        #expect(name1 != name2 && name1.hasSuffix("1") && name2.hasSuffix("2"), "\(name1) \(name2)")
        // Right-aligned columns end under their header's end; ETC starts under its header.
        for (word, right) in [("%", true), ("DONE", true), ("ETC", false)] {
            let range = try #require(header.range(of: word), "\(header)")
            let column = header.distance(from: header.startIndex, to: right ? range.upperBound : range.lowerBound)
            for row in [run1, run2, backfill] {
                let at = row.index(row.startIndex, offsetBy: right ? column - 1 : column)
                let next = row.index(after: at), before = row.index(before: at)
                #expect(right ? row[at] != " " && row[next] == " " : row[before] == " " && row[at] != " ", "\(word):\n\(header)\n\(row)")
            }
        }
        #expect(backfill.contains(" completed"), "\(backfill)")
        if header.contains("FINISH") {
            let end = Date(timeIntervalSince1970: Double(ended))
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = TimeZone(identifier: "UTC")!
            let parts = calendar.dateComponents([.hour, .minute, .second], from: end)
            let clock = String(format: "%02d:%02d:%02d", parts.hour!, parts.minute!, parts.second!)
            // Today's end shows as a time of day; just after midnight it shows with its date.
            #expect(backfill.hasSuffix(clock) || calendar.isDateInToday(end) == false, "\(backfill) ends \(clock)")
        }
    }

    @Test func terminalViewInTmux() async throws {
        #expect(FileManager.default.isExecutableFile(atPath: "/usr/bin/tmux"), "tmux is missing: run scripts/install-deps.sh")
        let port = try freePort()
        var exporter = try await ExporterProcess(["--web.listen-address=127.0.0.1:\(port)"])
        defer { exporter.stop() }
        _ = try await exporter.request("POST", "/events", body: [started("render", items: 10), completed("render", agent: "w1", items: 0 ..< 3)].joined(separator: "\n"))

        let tmux = Tmux()
        defer { tmux.kill() }
        let binary = try ExporterProcess.binary.path
        // The shell reports how top ended, then stays, so the pane can be read after it exits.
        try tmux.run(["new-session", "-d", "-s", tmux.session, "-x", "100", "-y", "30",
                      "'\(binary)' top --url http://127.0.0.1:\(port); echo \"top exited with $?\"; sleep 600"])

        // Without a job named, top follows the job with the most running agents: it reconnects for its agents.
        #expect(await eventually(within: 20) { tmux.pane().contains("3/10") && tmux.pane().contains("agents of render") }, "\(tmux.pane())")
        var screen = tmux.pane()
        let first = try #require(screen.split(separator: "\n").first { $0.hasPrefix("render") })
        #expect(first.contains("[") && first.contains(" 3/10    7 "), "\(screen)")
        #expect(screen.contains("agents of render"), "\(screen)")
        #expect(screen.split(separator: "\n").allSatisfy { $0.count <= 100 })

        // More progress: the numbers change in place.
        _ = try await exporter.request("POST", "/events", body: completed("render", agent: "w1", items: 3 ..< 6))
        #expect(await eventually(within: 20) { tmux.pane().contains("6/10") }, "\(tmux.pane())")
        #expect(!tmux.pane().contains("3/10"))

        // A narrower terminal: the lines follow (no room for a bar at 60 columns).
        try tmux.run(["resize-window", "-t", tmux.session, "-x", "60", "-y", "20"])
        #expect(await eventually(within: 20) {
            let line = tmux.pane().split(separator: "\n").first { $0.hasPrefix("render") }
            return line.map { !$0.contains("[") && $0.contains("6/10") } ?? false
        }, "\(tmux.pane())")

        // The exporter restarts: top says so, then reconnects by itself.
        exporter.stop()
        #expect(await eventually(within: 20) { tmux.pane().contains("disconnected, retrying") }, "\(tmux.pane())")
        exporter = try await ExporterProcess(["--web.listen-address=127.0.0.1:\(port)"])
        _ = try await exporter.request("POST", "/events", body: [started("again", items: 4), completed("again", agent: "b", items: 0 ..< 1)].joined(separator: "\n"))
        #expect(await eventually(within: 20) { tmux.pane().contains("1/4") && !tmux.pane().contains("disconnected") }, "\(tmux.pane())")

        // q quits, the terminal is given back (the alternate screen left) and the status is 0.
        try tmux.run(["send-keys", "-t", tmux.session, "q"])
        #expect(await eventually(within: 20) { tmux.pane().contains("top exited with 0") }, "\(tmux.pane())")
        screen = tmux.pane()
        #expect(!screen.contains("1/4"), "the alternate screen was left: \(screen)")
    }
}
