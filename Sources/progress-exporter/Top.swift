import ArgumentParser
import Clocks
import ExporterApp
import Foundation
import Tracking
import Synchronization

/// `progress-exporter top [--url URL] [JOB]`: the jobs and the slowest, stalled or failing agents in the
/// terminal, redrawn from `/api/v1/stream` as events arrive; plain summary lines when standard output
/// is not a terminal.
struct Top: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Watch jobs and their slowest, stalled or failing agents in the terminal.",
        discussion: """
            Reads the exporter's event stream (/api/v1/stream) and redraws in place, at most ten times a \
            second: a line per job (progress bar, done and planned, remaining, throughput, ETC with its \
            80 % band, estimated finish time) and the agents of JOB (or of the job with the most running \
            agents) that fail, stall or are slowest. q quits. When standard output is not a terminal it \
            prints one summary line per job per update instead; --once prints one snapshot and exits.
            """
    )

    @Option(name: .customLong("url"), help: ArgumentHelp("The exporter's base URL.", valueName: "url"))
    var url = "http://127.0.0.1:9465"

    @Flag(name: .customLong("once"), help: "Print one snapshot (a summary line per job) and exit.")
    var once = false

    @Argument(help: ArgumentHelp("The job whose agents to show (default: the job with the most running agents).", valueName: "job"))
    var job: String?

    func run() throws {
        if once {
            try printOnce()
            return
        }
        let viewer = TopViewer(base: url, job: job, terminal: isatty(STDOUT_FILENO) == 1)
        throw ExitCode(viewer.run())
    }

    private func printOnce() throws {
        struct Jobs: Decodable { var jobs: [JobSummary] }
        struct Agents: Decodable { var agents: [TopAgent] }
        let now = WallClock().now()
        do {
            let jobs = try JSONDecoder().decode(Jobs.self, from: TopClient.get(TopClient.url(url, "/api/v1/jobs") + "?limit=5000"))
            var state = TopState()
            state.applyJobs(jobs.jobs)
            var out = ""
            for job in TopRender.orderedJobs(state) { out += TopRender.summaryLine(job, now: now) + "\n" }
            if let job {
                let agents = try JSONDecoder().decode(Agents.self, from: TopClient.get(TopClient.url(url, "/api/v1/jobs/{job}/agents", job: job) + "?limit=5000"))
                state.agentJob = job
                for agent in agents.agents { state.agents[agent.agent] = agent }
                for (agent, flag) in TopRender.troubledAgents(state, now: now) {
                    out += TopRender.agentLine(agent, flag: flag, job: job, now: now) + "\n"
                }
            }
            FileHandle.standardOutput.write(Data(out.utf8))
        } catch let error as TopClient.Failure {
            FileHandle.standardError.write(Data("progress-exporter top: \(error.description)\n".utf8))
            throw ExitCode(1)
        }
    }
}

/// What the stream thread and the drawing loop share.
final class TopShared: Sendable {
    struct Data: Sendable {
        var state = TopState()
        var dirty = true
        /// Set when the stream went down; the plain output reports it once.
        var disconnectNotice: String?
    }

    let data = Mutex(Data())
    /// The stream thread writes a byte here after each change; the drawing loop polls it.
    let wakeRead: Int32
    private let wakeWrite: Int32

    init() {
        var fds: [Int32] = [-1, -1]
        if pipe(&fds) != 0 { fatalError("pipe: \(String(cString: strerror(errno)))") }
        for fd in fds { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        wakeRead = fds[0]
        wakeWrite = fds[1]
    }

    func wake() {
        var byte: UInt8 = 1
        _ = write(wakeWrite, &byte, 1)
    }

    func drainWake() {
        var buffer = [UInt8](repeating: 0, count: 256)
        while read(wakeRead, &buffer, buffer.count) > 0 {}
    }
}

/// Saved terminal settings, restored on every way out.
nonisolated(unsafe) private var savedTermios: termios?

struct TopViewer {
    let base: String
    let job: String?
    let terminal: Bool
    let shared = TopShared()

    /// Reads the stream on its own thread for as long as the process runs, reconnecting after 2 s.
    private func startStream() {
        let shared = shared, base = base, explicit = job
        let thread = Thread {
            while true {
                let watched = explicit ?? shared.data.withLock { $0.state.busiestJob }
                var switching = false
                let why = TopClient.stream(TopClient.url(base, "/api/v1/stream", job: watched, query: true)) { event, payload in
                    let keepGoing = shared.data.withLock { data -> Bool in
                        data.state.apply(event: event, data: payload)
                        data.dirty = true
                        // No job named: follow the job with the most running agents.
                        guard explicit == nil, event == "jobs", let best = data.state.busiestJob, best != watched else { return true }
                        let current = watched.flatMap { data.state.jobs[$0] }
                        if current == nil || (current!.runningAgents == 0 && data.state.jobs[best]!.runningAgents > 0) {
                            switching = true
                            return false
                        }
                        return true
                    }
                    shared.wake()
                    return keepGoing
                }
                if switching { continue }
                shared.data.withLock { data in
                    data.state.connected = false
                    data.state.message = "disconnected, retrying (\(why))"
                    data.disconnectNotice = "disconnected, retrying (\(why))"
                    data.dirty = true
                }
                shared.wake()
                Thread.sleep(forTimeInterval: 2)
            }
        }
        thread.name = "top-stream"
        thread.start()
    }

    /// Runs until `q`, SIGINT or SIGTERM; returns the exit status.
    func run() -> Int32 {
        // SIGHUP: the terminal went away.
        SignalWaiter.install([SIGINT, SIGTERM, SIGHUP, SIGWINCH])
        if terminal { enterTerminal() }
        startStream()
        var lastDraw = 0.0
        var size = terminalSize()
        var status: Int32 = 0
        loop: while true {
            let now = monotonic()
            let dirty = shared.data.withLock { $0.dirty }
            // At most ten draws a second; in a terminal, once a second for the clock.
            let wait = dirty ? max(0, lastDraw + 0.1 - now) : (terminal ? max(0, lastDraw + 1 - now) : 60)
            var fds = [
                pollfd(fd: shared.wakeRead, events: Int16(POLLIN), revents: 0),
                pollfd(fd: SignalWaiter.descriptor, events: Int16(POLLIN), revents: 0),
            ]
            if terminal { fds.append(pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0)) }
            _ = poll(&fds, nfds_t(fds.count), Int32(wait * 1000))
            if fds[0].revents != 0 { shared.drainWake() }
            if fds[1].revents != 0 {
                let signal = SignalWaiter.next()
                if signal == SIGWINCH {
                    size = terminalSize()
                    shared.data.withLock { $0.dirty = true }
                } else {
                    status = 128 + signal
                    break loop
                }
            }
            if terminal, fds.count > 2, fds[2].revents != 0 {
                var buffer = [UInt8](repeating: 0, count: 64)
                let count = read(STDIN_FILENO, &buffer, buffer.count)
                if count == 0 { break loop }
                if count > 0, buffer[0 ..< count].contains(where: { $0 == UInt8(ascii: "q") || $0 == UInt8(ascii: "Q") || $0 == 3 }) { break loop }
            }
            let later = monotonic()
            if terminal, later - lastDraw >= 1 { shared.data.withLock { $0.dirty = true } }
            if later - lastDraw >= 0.1, shared.data.withLock({ $0.dirty }) {
                lastDraw = later
                draw(size: size)
            }
        }
        if terminal { leaveTerminal() }
        return status
    }

    private func draw(size: (width: Int, height: Int)) {
        let now = WallClock().now()
        let (state, notice) = shared.data.withLock { data -> (TopState, String?) in
            let copy = data.state
            defer { data.dirty = false; data.state.changedJobs = []; data.disconnectNotice = nil }
            return (copy, data.disconnectNotice)
        }
        if terminal {
            let lines = TopRender.screen(state, width: size.width, height: size.height, now: now, source: base)
            write("\u{1B}[H" + lines.joined(separator: "\u{1B}[K\r\n") + "\u{1B}[K\u{1B}[J")
        } else {
            if let notice { FileHandle.standardError.write(Foundation.Data("progress-exporter top: \(notice)\n".utf8)) }
            var out = ""
            var seen = Set<String>()
            for name in state.changedJobs where seen.insert(name).inserted {
                if let job = state.jobs[name] { out += TopRender.summaryLine(job, now: now) + "\n" }
            }
            if !out.isEmpty { write(out) }
        }
    }

    private func write(_ text: String) {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let count = bytes.withUnsafeMutableBytes { Foundation.write(STDOUT_FILENO, $0.baseAddress! + offset, $0.count - offset) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { return }
            offset += count
        }
    }

    private func terminalSize() -> (width: Int, height: Int) {
        var size = winsize()
        if ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0, size.ws_row > 0 {
            return (Int(size.ws_col), Int(size.ws_row))
        }
        return (80, 24)
    }

    /// Raw input (no echo, a key at a time; Ctrl-C still signals), the alternate screen, no cursor.
    private func enterTerminal() {
        var settings = termios()
        if tcgetattr(STDIN_FILENO, &settings) == 0 {
            savedTermios = settings
            settings.c_lflag &= ~tcflag_t(ICANON | ECHO)
            withUnsafeMutableBytes(of: &settings.c_cc) { cc in
                cc[Int(VMIN)] = 1
                cc[Int(VTIME)] = 0
            }
            tcsetattr(STDIN_FILENO, TCSAFLUSH, &settings)
        }
        write("\u{1B}[?1049h\u{1B}[?25l\u{1B}[H\u{1B}[2J")
    }

    private func leaveTerminal() {
        write("\u{1B}[?25h\u{1B}[?1049l")
        if var settings = savedTermios { tcsetattr(STDIN_FILENO, TCSAFLUSH, &settings) }
    }

    private func monotonic() -> Double { MonotonicClock().now() }
}
