#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A growable byte buffer written through a raw pointer. An append costs a capacity check and a
/// copy, with no retain, release or uniqueness check of an array, and a buffer that is emptied and
/// filled again keeps its capacity, so a scrape reusing last scrape's buffers touches no new pages.
/// One writer at a time; it is Sendable so that a pool can hand it from one scrape to the next.
public final class ByteBuffer: @unchecked Sendable {
    @usableFromInline struct State {
        @usableFromInline var base: UnsafeMutablePointer<UInt8>
        @usableFromInline var end: Int
        @usableFromInline var capacity: Int
    }

    /// Kept behind a pointer, not in stored `var`s, so that appends need no dynamic exclusivity checks.
    @usableFromInline let state: UnsafeMutablePointer<State>

    public init(capacity: Int = 4096) {
        let capacity = max(capacity, 64)
        guard let memory = malloc(capacity) else { fatalError("out of memory for a \(capacity)-byte buffer") }
        state = .allocate(capacity: 1)
        state.initialize(to: State(base: memory.assumingMemoryBound(to: UInt8.self), end: 0, capacity: capacity))
    }

    deinit {
        free(state.pointee.base)
        state.deallocate()
    }

    /// Bytes written so far.
    public var count: Int { state.pointee.end }

    /// Bytes allocated.
    public var capacity: Int { state.pointee.capacity }

    /// The bytes written so far; valid until the next append or `removeAll`.
    public var readable: UnsafeRawBufferPointer { UnsafeRawBufferPointer(bytes) }

    /// A copy of the bytes written so far.
    public var array: [UInt8] { Array(bytes) }

    /// Empties the buffer and keeps its capacity.
    public func removeAll() { state.pointee.end = 0 }

    /// Makes room for `extra` more bytes; the write that follows needs no check.
    @inlinable public func reserve(_ extra: Int) {
        if state.pointee.end + extra > state.pointee.capacity { grow(to: state.pointee.end + extra) }
    }

    @usableFromInline func grow(to needed: Int) {
        let newCapacity = max(needed, state.pointee.capacity * 2)
        guard let memory = realloc(state.pointee.base, newCapacity) else {
            fatalError("out of memory for a \(newCapacity)-byte buffer")
        }
        state.pointee.base = memory.assumingMemoryBound(to: UInt8.self)
        state.pointee.capacity = newCapacity
    }

    @inlinable public func append(_ bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress, !bytes.isEmpty else { return }
        reserve(bytes.count)
        (state.pointee.base + state.pointee.end).update(from: source.assumingMemoryBound(to: UInt8.self), count: bytes.count)
        state.pointee.end += bytes.count
    }

    @inlinable public func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { append($0) }
    }

    @inlinable public func append(_ byte: UInt8) {
        reserve(1)
        state.pointee.base[state.pointee.end] = byte
        state.pointee.end += 1
    }

    /// Hands out the free space after the written bytes, at least `maximum` of it; `write` returns
    /// how many bytes it filled. For writers that know an upper bound of what they write.
    @inlinable public func write(atMost maximum: Int, _ write: (UnsafeMutablePointer<UInt8>) -> Int) {
        reserve(maximum)
        let written = write(state.pointee.base + state.pointee.end)
        precondition(written <= maximum, "wrote past the reserved space")
        state.pointee.end += written
    }
}

extension ByteBuffer {
    /// The bytes written so far, typed; valid until the next append or `removeAll`.
    public var bytes: UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(start: state.pointee.base, count: state.pointee.end) }
}
