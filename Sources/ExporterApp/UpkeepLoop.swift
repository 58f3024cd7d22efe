import Foundation
import Synchronization

/// Runs an action every `interval` seconds on its own thread until stopped, and sooner when woken,
/// but never more often than every `minimumGap` seconds.
final class UpkeepLoop: Sendable {
    private let interval: Double
    private let minimumGap: Double
    private let action: @Sendable () -> Void
    private let state = Mutex<(running: Bool, woken: Bool)>((false, false))
    private let condition = NSCondition()
    private let finished = DispatchSemaphore(value: 0)

    /// The thread's name (as `top -H` and /proc/PID/task/*/comm show it).
    private let name: String

    init(interval: Double, minimumGap: Double = 0, name: String = "upkeep", action: @escaping @Sendable () -> Void) {
        self.name = name
        self.interval = interval
        self.minimumGap = minimumGap
        self.action = action
    }

    /// Asks for a run soon (after `minimumGap` since the last one) instead of at the next interval.
    func wake() {
        let wasWoken = state.withLock { state in
            defer { state.woken = true }
            return state.woken
        }
        guard !wasWoken else { return }
        condition.lock()
        condition.broadcast()
        condition.unlock()
    }

    func start() {
        let shouldStart = state.withLock { state -> Bool in
            guard !state.running else { return false }
            state.running = true
            return true
        }
        guard shouldStart else { return }
        let thread = Thread { [self] in
            // Foundation keeps the name to itself on Linux; the kernel's copy (what top -H and
            // /proc/PID/task/*/comm show) is set through /proc.
            try? Data(name.prefix(15).utf8).write(to: URL(fileURLWithPath: "/proc/thread-self/comm"))
            while isRunning {
                let started = Date()
                state.withLock { $0.woken = false }
                action()
                if minimumGap > 0 { Thread.sleep(until: started.addingTimeInterval(minimumGap)) }
                condition.lock()
                if isRunning && !state.withLock({ $0.woken }) {
                    _ = condition.wait(until: started.addingTimeInterval(interval))
                }
                condition.unlock()
            }
            finished.signal()
        }
        thread.name = name
        thread.start()
    }

    private var isRunning: Bool { state.withLock { $0.running } }

    func stop() {
        let wasRunning = state.withLock { state in
            defer { state.running = false }
            return state.running
        }
        guard wasRunning else { return }
        condition.lock()
        condition.broadcast()
        condition.unlock()
        finished.wait()
    }
}
