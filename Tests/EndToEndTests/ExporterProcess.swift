import Foundation
import Synchronization
import TestSupport
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The real `progress-exporter` binary, started on 127.0.0.1 with a free port and stopped with SIGTERM.
final class ExporterProcess {
    let process = Process()
    let port: Int
    /// What the exporter wrote to standard error until it logged its port.
    let startupLog: String
    private let stderr = Pipe()
    let stdin = Pipe()
    /// Standard error after the startup lines, read as it comes by a thread of its own: a chatty run
    /// (thousands of alert lines) must never fill the pipe and block the exporter's logging.
    private let drained = DrainedOutput()

    static var binary: URL {
        get throws {
            // swift test runs the test bundle from the build folder that also holds the executable.
            let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("progress-exporter")
            let candidates = [beside] + [".build/debug/progress-exporter", ".build/release/progress-exporter"].map {
                URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent($0)
            }
            guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
                throw TestFailure("progress-exporter binary not found beside \(CommandLine.arguments[0]); run swift build first")
            }
            return found
        }
    }

    /// `launcher`: a command that runs the binary, e.g. `setpriv` with its options to run it as another user.
    /// Async, and it never blocks its thread while the exporter starts: tests run as tasks on a
    /// pool as wide as the machine's cores (two on CI), and a start that blocked one stalled every
    /// other test's waits and latency measurements. Starts pass `starts` a few at a time.
    convenience init(_ arguments: [String], launcher: [String] = []) async throws {
        await Self.starts.enter()
        do {
            try await self.init(starting: arguments, launcher: launcher)
            await Self.starts.leave()
        } catch {
            await Self.starts.leave()
            throw error
        }
    }

    /// How many exporters may be starting at once, over every test.
    static let starts = StartGate(width: 2)

    private init(starting arguments: [String], launcher: [String]) async throws {
        let serve = ["serve", "--web.listen-address", "127.0.0.1:0"] + arguments
        if let first = launcher.first {
            process.executableURL = URL(fileURLWithPath: first)
            process.arguments = Array(launcher.dropFirst()) + [try Self.binary.path] + serve
        } else {
            process.executableURL = try Self.binary
            process.arguments = serve
        }
        process.standardError = stderr
        process.standardInput = stdin
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let reading = stderr.fileHandleForReading
        let drained = drained
        Thread.detachNewThread {
            while true {
                let chunk = reading.availableData
                if chunk.isEmpty { break }
                drained.append(chunk)
            }
            drained.end()
            drained.ended.signal()
        }
        // The exporter logs `msg=listening ... port=N` (`"port":"N"` with --log.format json) once it
        // serves; wait for it, at most 20 s.
        let deadline = Date().addingTimeInterval(20)
        var found: Int?
        var log = ""
        while found == nil {
            let late = Date() >= deadline
            log = drained.text
            if let range = log.range(of: #"port"?[=:]"?\d+"#, options: .regularExpression) {
                found = Int(log[range].drop { !$0.isNumber })
            } else if late || !process.isRunning {
                break
            } else {
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
        guard let found else {
            if process.isRunning { process.terminate() }
            throw TestFailure("exporter did not start: \(drained.text)")
        }
        port = found
        startupLog = log
    }

    /// What the exporter wrote to standard error so far.
    func logSoFar() -> String { drained.text }

    /// Everything the exporter wrote to standard error; call after `stop` (waits up to 10 s for the end).
    func fullLog() -> String {
        if drained.ended.wait(timeout: .now() + 10) == .success { drained.ended.signal() }
        return logSoFar()
    }

    /// Runs the binary with `arguments` and waits at most `seconds` for it to exit by itself
    /// (it is killed otherwise, and the status is nil): for flags that must be refused at start.
    static func runToExit(_ arguments: [String], seconds: Double = 10) async throws -> (status: Int32?, output: String) {
        await starts.enter()
        do {
            let result = try await run(arguments, seconds: seconds)
            await starts.leave()
            return result
        } catch {
            await starts.leave()
            throw error
        }
    }

    private static func run(_ arguments: [String], seconds: Double) async throws -> (status: Int32?, output: String) {
        let process = Process()
        process.executableURL = try binary
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Read while it runs: output past the pipe's buffer would otherwise block it until killed.
        let collected = DrainedOutput()
        let reading = output.fileHandleForReading
        Thread.detachNewThread {
            collected.append(reading.readDataToEndOfFile())
            collected.end()
            collected.ended.signal()
        }
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning, Date() < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        let killed = process.isRunning
        if killed { kill(process.processIdentifier, SIGKILL) }
        // The pipe closes as the process ends; wait for the reader without holding this thread.
        let readerDeadline = Date().addingTimeInterval(10)
        while process.isRunning || !collected.hasEnded, Date() < readerDeadline { try? await Task.sleep(for: .milliseconds(10)) }
        process.waitUntilExit()
        let status = killed || process.terminationReason != .exit ? nil : process.terminationStatus
        return (status, collected.text)
    }

    var base: String { "http://127.0.0.1:\(port)" }

    /// SIGTERM, then wait at most 10 s; returns the exit status.
    @discardableResult
    func stop() -> Int32 {
        guard process.isRunning else { return process.terminationStatus }
        process.terminate()
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return -1
        }
        return process.terminationStatus
    }

    deinit { if process.isRunning { stop() } }

    struct Answer {
        let status: Int
        let body: String
        let headers: [AnyHashable: Any]
    }

    func request(_ method: String, _ path: String, body: String? = nil, headers: [String: String] = [:], timeout: TimeInterval = 10) async throws -> Answer {
        var request = URLRequest(url: URL(string: base + path)!)
        request.httpMethod = method
        request.timeoutInterval = timeout
        if let body { request.httpBody = Data(body.utf8) }
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as! HTTPURLResponse
        return Answer(status: http.statusCode, body: String(decoding: data, as: UTF8.self), headers: http.allHeaderFields)
    }

    func metrics() async throws -> String { try await request("GET", "/metrics").body }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The value of the one sample line that starts with `series ` (name and labels exactly as exported).
func sample(_ metrics: String, _ series: String) -> Double? {
    for line in metrics.split(separator: "\n") where line.hasPrefix(series + " ") {
        return Double(line.dropFirst(series.count + 1))
    }
    return nil
}

/// Runs promtool check metrics on an exposition; returns its complaints (empty when clean).
func promtoolComplaints(_ exposition: String) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/promtool")
    process.arguments = ["check", "metrics"]
    let input = Pipe()
    let output = Pipe()
    process.standardInput = input
    process.standardOutput = output
    process.standardError = output
    try process.run()
    input.fileHandleForWriting.write(Data(exposition.utf8))
    try input.fileHandleForWriting.close()
    let report = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    return process.terminationStatus == 0 ? report : "exit \(process.terminationStatus): \(report)"
}

/// Output read from a child as it comes, by a thread of its own.
final class DrainedOutput: Sendable {
    private let bytes = Mutex<[UInt8]>([])
    /// Signalled when the output ended (the child closed it).
    let ended = DispatchSemaphore(value: 0)

    private let finished = Atomic<Bool>(false)

    func append(_ data: Data) { bytes.withLock { $0.append(contentsOf: data) } }
    /// Marks the end of the output (the reader saw end of file); `hasEnded` then answers true.
    func end() { finished.store(true, ordering: .releasing) }
    var hasEnded: Bool { finished.load(ordering: .acquiring) }
    var text: String { bytes.withLock { String(decoding: $0, as: UTF8.self) } }
}
