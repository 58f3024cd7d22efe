import DequeModule
import Dispatch
import Foundation
import Synchronization

/// The threads that run request handlers, off libmicrohttpd's poll threads.
///
/// A poll thread serves many connections; a handler that takes long on it (a large render, a journal
/// fsync, a bcrypt check) would stall every other connection of that thread. Instead the poll thread
/// suspends the connection, hands the request here, and goes on polling; the worker runs the handler,
/// stores the answer and resumes the connection, and the poll thread sends it.
final class HandlerWorkers: Sendable {
    private struct Queue {
        /// Taken from the front as they run: a run job keeps nothing it captured (a request body).
        var jobs = Deque<@Sendable () -> Void>()
        var stopped = false
    }

    private let queue = Mutex(Queue())
    private let ready = DispatchSemaphore(value: 0)
    /// Signalled by each thread as it ends.
    private let exited = DispatchSemaphore(value: 0)
    let count: Int

    /// Starts `count` threads named `name` (as `top -H` shows them).
    init(count: Int, name: String = "http-handler") {
        self.count = max(1, count)
        for _ in 0..<self.count {
            let thread = Thread { [self] in
                try? Data(name.prefix(15).utf8).write(to: URL(fileURLWithPath: "/proc/thread-self/comm"))
                while let job = next() { job() }
                exited.signal()
            }
            thread.name = name
            thread.start()
        }
    }

    /// Queues a job; false (and not run) once stopped.
    @discardableResult
    func submit(_ job: @escaping @Sendable () -> Void) -> Bool {
        let queued = queue.withLock { queue -> Bool in
            guard !queue.stopped else { return false }
            queue.jobs.append(job)
            return true
        }
        if queued { ready.signal() }
        return queued
    }

    /// Jobs already queued still run (a request shutdown answered skips its handler); then the threads
    /// end. Waits for them at most `seconds`, so a handler that still changes state is done before the
    /// caller goes on (the exporter stops HTTP before its final snapshot).
    func stop(waitingUpTo seconds: Double = 0) {
        let wasRunning = queue.withLock { queue -> Bool in
            defer { queue.stopped = true }
            return !queue.stopped
        }
        guard wasRunning else { return }
        for _ in 0..<count { ready.signal() }
        let deadline = DispatchTime.now() + .nanoseconds(Int(max(0, min(seconds, 3600)) * 1e9))
        for _ in 0..<count {
            if exited.wait(timeout: deadline) == .timedOut { return }
        }
    }

    /// The next job, waiting for one; nil once stopped and drained.
    private func next() -> (@Sendable () -> Void)? {
        while true {
            ready.wait()
            let job = queue.withLock { queue -> (@Sendable () -> Void)?? in
                if let job = queue.jobs.popFirst() { return .some(job) }
                return queue.stopped ? .some(nil) : nil
            }
            if let job { return job }
        }
    }
}
