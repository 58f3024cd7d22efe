import Foundation

/// A value guarded by a mutex. Unlike `Mutex`, the closure may hand non-Sendable parts of the value to
/// callee code that writes into caller-owned buffers (the scrape path), which region checking forbids;
/// safety rests on every access going through `withLock`.
final class StateLock<Value>: @unchecked Sendable {
    private var value: Value
    private let lock = NSLock()

    init(_ value: Value) { self.value = value }

    func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
