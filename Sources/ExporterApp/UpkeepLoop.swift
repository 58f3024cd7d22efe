import Foundation
import Synchronization

/// Runs an action every `interval` seconds on its own thread until stopped.
final class UpkeepLoop: Sendable {
    private let interval: Double
    private let action: @Sendable () -> Void
    private let state = Mutex<(running: Bool, thread: Thread?)>((false, nil))
    private let condition = NSCondition()
    private let finished = DispatchSemaphore(value: 0)

    init(interval: Double, action: @escaping @Sendable () -> Void) {
        self.interval = interval
        self.action = action
    }

    func start() {
        let shouldStart = state.withLock { state -> Bool in
            guard !state.running else { return false }
            state.running = true
            return true
        }
        guard shouldStart else { return }
        let thread = Thread { [self] in
            while isRunning {
                action()
                condition.lock()
                if isRunning { _ = condition.wait(until: Date(timeIntervalSinceNow: interval)) }
                condition.unlock()
            }
            finished.signal()
        }
        thread.name = "upkeep"
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
