import Foundation
import Synchronization

/// Runs a program with a file as standard input and a deadline, and kills its process group if it overruns.
enum BoundedProcess {
    /// How a run ended.
    enum Ending: Equatable {
        case exited(status: Int32, stderr: String)
        case killedAtTimeout(stderr: String)
        /// Stopped early by `Cancellation.cancel()` (shutdown past its grace).
        case cancelled(stderr: String)
    }

    /// Stops a run from another thread: SIGTERM to the program's group, SIGKILL after the kill grace. Once
    /// cancelled, later runs are refused before they start.
    final class Cancellation: Sendable {
        /// Whether `cancel()` was called, and the semaphore the run under way waits on (signalled to wake it).
        private let state = Mutex<(cancelled: Bool, waiter: DispatchSemaphore?)>((false, nil))

        func cancel() {
            state.withLock { state in
                state.cancelled = true
                state.waiter?.signal()
            }
        }

        var isCancelled: Bool { state.withLock { $0.cancelled } }

        /// false when already cancelled.
        fileprivate func register(_ waiter: DispatchSemaphore?) -> Bool {
            state.withLock { state in
                state.waiter = waiter
                return !state.cancelled
            }
        }
    }

    /// How much standard error is kept for the error message.
    static let stderrLimit = 4096

    /// Throws only when the program cannot be started at all.
    static func run(
        executable: URL, arguments: [String], environment: [String: String], input: Data, timeout: Double, killGrace: Double,
        cancellation: Cancellation? = nil
    ) throws -> Ending {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = environment
        // A file rather than a pipe: a program that never reads stdin can neither block us nor make us write to a
        // closed pipe (SIGPIPE).
        let stdin = try unlinkedFile(holding: input)
        defer { try? stdin.close() }
        process.standardInput = stdin
        process.standardOutput = FileHandle.nullDevice
        let stderrPipe = Pipe()
        process.standardError = stderrPipe

        // Signalled when the program exits, or by a cancellation.
        let exited = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in exited.signal() }
        if let cancellation, !cancellation.register(exited) { return .cancelled(stderr: "") }
        defer { _ = cancellation?.register(nil) }
        try process.run()
        // The child's copy is enough; ours would keep the pipe open and the reader waiting after the child exits.
        try? stderrPipe.fileHandleForWriting.close()
        let stderr = StderrCollector(stderrPipe.fileHandleForReading)

        var timedOut = false
        var cancelled = false
        let waited = exited.wait(timeout: .now() + timeout)
        if waited == .success, process.isRunning, cancellation?.isCancelled == true { cancelled = true }
        if waited == .timedOut || cancelled {
            timedOut = !cancelled
            signal(process, SIGTERM)
            if exited.wait(timeout: .now() + killGrace) == .timedOut {
                signal(process, SIGKILL)
                exited.wait()
            }
        }
        // A background child of the program may still hold stderr open; do not wait on it for long.
        let text = stderr.text(waitingAtMost: 0.5)
        if cancelled { return .cancelled(stderr: text) }
        return timedOut ? .killedAtTimeout(stderr: text) : .exited(status: process.terminationStatus, stderr: text)
    }

    /// Foundation starts the child as the leader of its own process group; signalling the group also reaches what a
    /// shell script started. Should that ever change, only the child itself is signalled.
    ///
    /// The child inherits the spawning thread's signal mask, and the exporter blocks SIGINT and SIGTERM in every
    /// thread for its `sigwait`: a program that does not reset its mask (dash does, bash does not) sleeps through the
    /// SIGTERM and stops at the SIGKILL. Unblocking around the spawn would open a window in which the exporter's own
    /// SIGTERM kills it without its shutdown, which is worse.
    private static func signal(_ process: Process, _ signal: Int32) {
        let pid = process.processIdentifier
        if getpgid(pid) == pid { kill(-pid, signal) } else { kill(pid, signal) }
    }

    private static func unlinkedFile(holding data: Data) throws -> FileHandle {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("progress-exporter-alert-\(UUID().uuidString).json")
        try data.write(to: url)
        let handle = try FileHandle(forReadingFrom: url)
        try? FileManager.default.removeItem(at: url)
        return handle
    }

    /// Drains a child's standard error on its own thread, so a chatty child never blocks on a full pipe.
    private final class StderrCollector: Sendable {
        private let collected = Mutex<Data>(Data())
        private let finished = DispatchSemaphore(value: 0)

        init(_ handle: FileHandle) {
            let thread = Thread { [self] in
                while true {
                    let chunk = handle.availableData
                    if chunk.isEmpty { break }
                    collected.withLock { data in
                        if data.count < BoundedProcess.stderrLimit {
                            data.append(chunk.prefix(BoundedProcess.stderrLimit - data.count))
                        }
                    }
                }
                finished.signal()
            }
            thread.name = "alert-command-stderr"
            thread.start()
        }

        func text(waitingAtMost seconds: Double) -> String {
            _ = finished.wait(timeout: .now() + seconds)
            return collected.withLock { String(decoding: $0, as: UTF8.self) }
        }
    }
}
