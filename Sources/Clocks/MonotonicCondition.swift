#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A mutex with a condition variable whose timed waits run on the monotonic clock.
///
/// Foundation's `NSCondition.wait(until:)` sleeps until a wall-clock date, so setting the clock back an
/// hour makes a one-second wait last an hour and one second. This one asks the kernel for
/// `CLOCK_MONOTONIC` deadlines (`pthread_condattr_setclock`), so a wait lasts what it says. (glibc
/// takes only the realtime and monotonic clocks here; `MonotonicClock` reads `CLOCK_BOOTTIME`, so
/// across a system suspend a wait may last the suspend longer; callers re-read their clock anyway.)
///
/// `@unchecked Sendable`: it is itself the lock; its state is the pthread objects, which are made for
/// use from many threads and live at fixed addresses until `deinit`.
public final class MonotonicCondition: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    public init() {
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    public func lock() { pthread_mutex_lock(mutex) }
    public func unlock() { pthread_mutex_unlock(mutex) }
    public func signal() { pthread_cond_signal(condition) }
    public func broadcast() { pthread_cond_broadcast(condition) }

    /// With the lock held: sleeps until signalled (or a spurious wakeup).
    public func wait() { pthread_cond_wait(condition, mutex) }

    /// With the lock held: sleeps until signalled (or a spurious wakeup) or `seconds` pass on the
    /// monotonic clock; returns false when the time ran out.
    @discardableResult
    public func wait(seconds: Double) -> Bool {
        guard seconds > 0 else { return false }
        var deadline = timespec()
        clock_gettime(CLOCK_MONOTONIC, &deadline)
        // At most a day per wait: callers loop and re-read their clock anyway.
        let span = min(seconds, 86_400)
        let whole = Int(span)
        var nanoseconds = deadline.tv_nsec + Int((span - Double(whole)) * 1e9)
        var carry = 0
        if nanoseconds >= 1_000_000_000 {
            nanoseconds -= 1_000_000_000
            carry = 1
        }
        deadline.tv_sec += whole + carry
        deadline.tv_nsec = nanoseconds
        return pthread_cond_timedwait(condition, mutex, &deadline) != ETIMEDOUT
    }
}
