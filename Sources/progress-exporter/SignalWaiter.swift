import Foundation

/// Write end of the pipe the signal handler writes to; set once before any handler is installed.
nonisolated(unsafe) private var signalPipeWriteEnd: Int32 = -1

/// Waits for SIGINT, SIGTERM and SIGHUP through a self-pipe. Handlers (not a blocked mask) are used
/// so that programs the exporter runs, such as alert commands, start with no signal blocked.
enum SignalWaiter {
    private nonisolated(unsafe) static var readEnd: Int32 = -1

    static func install(_ signals: [Int32]) {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { fatalError("pipe: \(String(cString: strerror(errno)))") }
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        readEnd = fds[0]
        signalPipeWriteEnd = fds[1]
        for signal in signals {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { number in
                // Only async-signal-safe calls here: one write of the signal number.
                var byte = UInt8(truncatingIfNeeded: number)
                _ = write(signalPipeWriteEnd, &byte, 1)
            }
            sigemptyset(&action.sa_mask)
            action.sa_flags = SA_RESTART
            sigaction(signal, &action, nil)
        }
        // A parent (a test runner, a supervisor) may have left these blocked; handlers need them open.
        var mask = sigset_t()
        sigemptyset(&mask)
        for signal in signals { sigaddset(&mask, signal) }
        pthread_sigmask(SIG_UNBLOCK, &mask, nil)
    }

    /// The pipe's read end, for a loop that polls it beside other descriptors (`top`); readable when `next()` will not block.
    static var descriptor: Int32 { readEnd }

    /// What `next()` returns after `wake()`: no signal has this number.
    static let wakeUp: Int32 = 0

    /// Makes `next()` return `wakeUp`, from any thread (the end of a shutdown running beside the wait).
    static func wake() {
        var byte: UInt8 = 0
        _ = write(signalPipeWriteEnd, &byte, 1)
    }

    /// Blocks until one of the installed signals arrives, or `wake()`; returns the signal's number (or `wakeUp`).
    static func next() -> Int32 {
        var byte: UInt8 = 0
        while true {
            let count = read(readEnd, &byte, 1)
            if count == 1 { return Int32(byte) }
            if count < 0 && errno == EINTR { continue }
            return SIGTERM
        }
    }
}
