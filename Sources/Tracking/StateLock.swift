import Foundation

/// A value guarded by a mutex. Unlike `Mutex`, the closure may hand non-Sendable parts of the value to
/// callee code that writes into caller-owned buffers (the scrape path), which region checking forbids;
/// safety rests on every access going through `withLock`.
final class StateLock<Value>: @unchecked Sendable {
    private var value: Value
    private let lock = NSLock()
    /// Each thread's longest hold in nanoseconds, while a benchmark measures them; nil otherwise
    /// (then a hold costs no clock reads). Guarded by `lock`.
    private var holds: [UInt: UInt64]?

    init(_ value: Value) { self.value = value }

    func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        lock.lock()
        defer { lock.unlock() }
        guard holds != nil else { return try body(&value) }
        let start = DispatchTime.now().uptimeNanoseconds
        defer {
            let held = DispatchTime.now().uptimeNanoseconds - start
            holds?[StateLock.currentThread, default: 0] = max(holds?[StateLock.currentThread] ?? 0, held)
        }
        return try body(&value)
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
