import Clocks
import Dispatch
import Foundation
import Synchronization

/// Runs an action every `interval` seconds on its own thread until stopped, and sooner when woken,
/// but never more often than every `minimumGap` seconds.
///
/// Intervals are measured on the monotonic clock and waited with relative timeouts, so setting the
/// wall clock (backwards by an hour, or forwards) neither stalls the loop nor makes it race: expiry,
/// alert evaluation and the stream keep their pace.
final class UpkeepLoop: Sendable {
    private let interval: Double
    private let minimumGap: Double
    private let action: @Sendable () -> Void
    private let state = Mutex<(running: Bool, woken: Bool)>((false, false))
    /// Signalled by `wake()` (once per run at most) and by `stop()`.
    private let bell = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    private let clock = MonotonicClock()

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
        bell.signal()
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
                let started = clock.now()
                state.withLock { $0.woken = false }
                action()
                // Rings that came while the action ran: the `woken` flag they set already says to run again
                // soon (after the minimum gap), so the bell itself is cleared.
                while bell.wait(timeout: .now()) == .success {}
                if minimumGap > 0 { pause(until: started + minimumGap, wakeable: false) }
                if isRunning && !state.withLock({ $0.woken }) { pause(until: started + interval, wakeable: true) }
            }
            finished.signal()
        }
        thread.name = name
        thread.start()
    }

    /// Waits until `deadline` on the monotonic clock; a wake ends the wait early when `wakeable`, a
    /// stop always does.
    private func pause(until deadline: Double, wakeable: Bool) {
        while isRunning {
            let remaining = deadline - clock.now()
            guard remaining > 0 else { return }
            let nanoseconds = Int(min(remaining, 3600) * 1e9)
            guard bell.wait(timeout: .now() + .nanoseconds(nanoseconds)) == .success else { return }
            if wakeable { return }
            // Woken during the minimum gap: keep the wake for after it (the flag stays set).
        }
    }

    private var isRunning: Bool { state.withLock { $0.running } }

    func stop() {
        let wasRunning = state.withLock { state in
            defer { state.running = false }
            return state.running
        }
        guard wasRunning else { return }
        bell.signal()
        finished.wait()
    }
}
