import Synchronization

/// The start-once, stop-once life of a source's thread, shared by the file tailer and the stdin reader.
final class SourceLifecycle: Sendable {
    private enum State {
        case idle
        case running(WorkerThread)
        case stopped(WorkerThread?)
    }

    private let state = Mutex(State.idle)
    let stop = StopSignal()

    /// Starts `body` on its thread the first time; later calls, and calls after stop, do nothing.
    func start(_ body: @escaping @Sendable () -> Void) {
        state.withLock { state in
            guard case .idle = state else { return }
            state = .running(WorkerThread(body))
        }
    }

    /// Asks the thread to stop and waits for it, unless called from that thread itself.
    func stopAndJoin() {
        stop.fire()
        let thread: WorkerThread? = state.withLock { state in
            switch state {
            case .idle:
                state = .stopped(nil)
                return nil
            case let .running(thread), let .stopped(thread?):
                state = .stopped(thread)
                return thread
            case .stopped(nil):
                return nil
            }
        }
        thread?.join()
    }
}
