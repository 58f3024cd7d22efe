import Glibc
import Synchronization

/// A one-shot stop request that also wakes a thread sleeping in poll(2), through a self-pipe.
///
/// A pipe rather than a timed wait so that a reader blocked on standard input stops at
/// once instead of at its next timeout.
final class StopSignal: Sendable {
    /// What a wait ended with.
    enum Wake {
        case stopped
        case readable
        case timedOut
    }

    private let fired = Atomic<Bool>(false)
    private let readEnd: Int32
    private let writeEnd: Int32

    init() {
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else {
            fatalError("pipe failed (errno \(errno)): out of file descriptors")
        }
        readEnd = ends[0]
        writeEnd = ends[1]
        // Close-on-exec so a command run by an alert hook does not inherit the pipe.
        for end in ends {
            _ = fcntl(end, F_SETFD, FD_CLOEXEC)
        }
    }

    deinit {
        close(readEnd)
        close(writeEnd)
    }

    /// The pipe's read end, readable once fired: for waits that poll descriptors of their own (libcurl's).
    var descriptor: Int32 { readEnd }

    var isFired: Bool {
        fired.load(ordering: .acquiring)
    }

    func fire() {
        guard !fired.exchange(true, ordering: .acquiringAndReleasing) else { return }
        var byte: UInt8 = 1
        _ = write(writeEnd, &byte, 1)
    }

    /// Sleeps for `duration` or until fired; true when fired.
    func sleep(for duration: Duration) -> Bool {
        wait(descriptor: nil, timeout: duration) == .stopped
    }

    /// Waits until `descriptor` is readable (or hung up), the signal fires, or the timeout passes (nil: no timeout).
    func wait(descriptor: Int32?, timeout: Duration?) -> Wake {
        var fds = [pollfd(fd: readEnd, events: Int16(POLLIN), revents: 0)]
        if let descriptor {
            fds.append(pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0))
        }
        let milliseconds = timeout.map(Self.milliseconds) ?? -1
        while true {
            if isFired { return .stopped }
            let ready = poll(&fds, nfds_t(fds.count), milliseconds)
            if ready < 0 {
                // EINTR: a signal for the process; poll again (a shortened sleep is harmless).
                if errno == EINTR { continue }
                return isFired ? .stopped : .readable
            }
            if isFired { return .stopped }
            if ready == 0 { return .timedOut }
            if fds.count > 1, fds[1].revents != 0 { return .readable }
        }
    }

    private static func milliseconds(_ duration: Duration) -> Int32 {
        let (seconds, attoseconds) = duration.components
        let total = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return Int32(clamping: max(0, total))
    }
}
