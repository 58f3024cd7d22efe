import Clocks
import Foundation
import Synchronization

/// A value guarded by a mutex. Unlike `Mutex`, the closure may hand non-Sendable parts of the value to
/// callee code that writes into caller-owned buffers (the scrape path), which region checking forbids;
/// safety rests on every access going through `withLock`.
final class StateLock<Value>: @unchecked Sendable {
    private var value: Value
    private let lock = NSLock()
    /// Each thread's longest hold in nanoseconds, while a benchmark measures them; nil otherwise
    /// (then a hold costs no clock reads). Guarded by `lock`.
    private var holds: [UInt: UInt64]?
    /// Threads blocked in `lock()`, and how many times the lock was taken: see `letWaitersIn`.
    private let waiting = Atomic<Int>(0)
    private let turns = Atomic<UInt64>(0)

    init(_ value: Value) { self.value = value }

    func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        if !lock.try() {
            waiting.wrappingAdd(1, ordering: .relaxed)
            lock.lock()
            waiting.wrappingSubtract(1, ordering: .relaxed)
        }
        turns.wrappingAdd(1, ordering: .relaxed)
        defer { lock.unlock() }
        guard holds != nil else { return try body(&value) }
        let start = MonotonicClock.nanoseconds()
        defer {
            let held = MonotonicClock.nanoseconds() &- start
            let thread = StateLock.currentThread
            if var measured = holds {
                holds = nil   // keeps the dictionary uniquely referenced: no copy
                measured[thread] = max(measured[thread] ?? 0, held)
                holds = measured
            }
        }
        return try body(&value)
    }

    /// Called between the holds of a long series (a scrape's jobs, an evaluation's jobs, a capture's
    /// chunks): when another thread waits for the lock, waits until it (or any other) got it. A mutex
    /// lets the thread that just released it take it again before the woken waiter runs, so without
    /// this a reader taking the lock a hundred times in a row kept ingestion out for seconds.
    func letWaitersIn() {
        guard waiting.load(ordering: .relaxed) > 0 else { return }
        let seen = turns.load(ordering: .relaxed)
        // Bounded (a millisecond), in case the waiter is not scheduled soon: then this thread goes on.
        let giveUp = MonotonicClock.nanoseconds() + 1_000_000
        while waiting.load(ordering: .relaxed) > 0, turns.load(ordering: .relaxed) == seen {
            guard MonotonicClock.nanoseconds() < giveUp else { return }
            sched_yield()
        }
    }

    /// Starts (or restarts) measuring holds; returns the longest hold of each thread since the last call.
    func measureHolds() -> [UInt: UInt64] {
        lock.lock()
        defer { lock.unlock() }
        let measured = holds ?? [:]
        holds = [:]
        return measured
    }

    /// Stops measuring; returns the longest hold of each thread since `measureHolds`.
    func stopMeasuringHolds() -> [UInt: UInt64] {
        lock.lock()
        defer { lock.unlock() }
        let measured = holds ?? [:]
        holds = nil
        return measured
    }

    static var currentThread: UInt { UInt(pthread_self()) }
}

extension ProgressStore {
    /// Benchmarks: starts measuring how long each thread holds the store's lock at a time; returns
    /// what was measured since the previous call (seconds, by `lockHolderID`).
    @discardableResult
    public func measureLockHolds() -> [UInt: Double] { state.measureHolds().mapValues { Double($0) / 1e9 } }

    /// Benchmarks: stops measuring lock holds; returns each thread's longest since `measureLockHolds`.
    @discardableResult
    public func stopMeasuringLockHolds() -> [UInt: Double] { state.stopMeasuringHolds().mapValues { Double($0) / 1e9 } }

    /// The calling thread's key in `measureLockHolds`' answer.
    public static var lockHolderID: UInt { StateLock<StoreState>.currentThread }
}
