import Glibc
import Synchronization

/// A dedicated thread for a blocking loop, and a join that any number of callers may wait on.
final class WorkerThread: Sendable {
    private final class Body {
        let run: @Sendable () -> Void
        init(_ run: @escaping @Sendable () -> Void) { self.run = run }
    }

    private let thread: pthread_t
    /// Held while joining, so a second caller waits for the first join instead of joining twice.
    private let joined = Mutex(false)

    /// Starts `body` on a new thread.
    init(_ body: @escaping @Sendable () -> Void) {
        let context = Unmanaged.passRetained(Body(body)).toOpaque()
        var handle = pthread_t()
        let result = pthread_create(&handle, nil, { context in
            let body = Unmanaged<Body>.fromOpaque(context!).takeRetainedValue()
            body.run()
            return nil
        }, context)
        guard result == 0 else {
            fatalError("pthread_create failed (\(result)): cannot start a source thread")
        }
        thread = handle
    }

    /// Whether the caller runs on this thread (joining it from there would deadlock).
    var isCurrent: Bool {
        pthread_equal(pthread_self(), thread) != 0
    }

    /// Waits until the body has returned; returns at once when called from the body itself.
    func join() {
        guard !isCurrent else { return }
        joined.withLock { done in
            guard !done else { return }
            pthread_join(thread, nil)
            done = true
        }
    }

    deinit {
        // Never joined (e.g. released from its own body): let the system reclaim the thread.
        joined.withLock { done in
            if !done { pthread_detach(thread) }
        }
    }
}
