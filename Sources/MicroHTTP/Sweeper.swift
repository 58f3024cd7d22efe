#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A thread that runs `pass` every `interval` seconds until stopped; it holds no MHD state itself.
final class Sweeper: Sendable {
    private struct Control {
        var stopping = false
        var thread: pthread_t?
    }

    private let interval: Double
    private let pass: @Sendable () -> Void
    private let control = Locked(Control())

    init(interval: Double, pass: @escaping @Sendable () -> Void) {
        self.interval = interval
        self.pass = pass
    }

    func start() {
        let box = Unmanaged.passRetained(self).toOpaque()
        var thread = pthread_t()
        let status = pthread_create(&thread, nil, { raw in
            guard let raw else { return nil }
            let sweeper = Unmanaged<Sweeper>.fromOpaque(raw).takeRetainedValue()
            sweeper.loop()
            return nil
        }, box)
        if status != 0 {
            Unmanaged<Sweeper>.fromOpaque(box).release()
            return
        }
        control.withLock { $0.thread = thread }
    }

    /// Asks the loop to end and waits for it.
    func stop() {
        let thread = control.withLock { control -> pthread_t? in
            control.stopping = true
            defer { control.thread = nil }
            return control.thread
        }
        if let thread { pthread_join(thread, nil) }
    }

    private func loop() {
        // Sleep in short steps so stop() returns quickly.
        let step: UInt32 = 20_000
        let stepsPerPass = max(1, Int(interval * 1e6) / Int(step))
        while true {
            for _ in 0..<stepsPerPass {
                if control.withLock({ $0.stopping }) { return }
                usleep(step)
            }
            pass()
        }
    }
}
