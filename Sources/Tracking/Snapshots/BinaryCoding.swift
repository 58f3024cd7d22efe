/// A compact little-endian binary encoding for snapshots: fixed-width numbers, length-prefixed
/// UTF-8 strings and arrays. The reader checks every length against what is left, so a torn or
/// hostile file fails with an error instead of trapping or allocating without bound.
public struct BinaryWriter {
    public private(set) var bytes: [UInt8] = []

    public init(reserving capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    public mutating func u8(_ v: UInt8) { bytes.append(v) }
    public mutating func bool(_ v: Bool) { bytes.append(v ? 1 : 0) }
    public mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    public mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    public mutating func i64(_ v: Int64) { u64(UInt64(bitPattern: v)) }
    public mutating func int(_ v: Int) { i64(Int64(v)) }
    public mutating func double(_ v: Double) { u64(v.bitPattern) }
    public mutating func string(_ v: String) {
        let utf8 = v.utf8
        u32(UInt32(utf8.count))
        bytes.append(contentsOf: utf8)
    }
    public mutating func raw(_ v: [UInt8]) {
        u64(UInt64(v.count))
        bytes.append(contentsOf: v)
    }
    /// A count, then the values' bytes as they are in memory (little-endian on every platform
    /// Swift runs on): one copy instead of a call per value.
    public mutating func numbers<T: FixedWidthInteger>(_ values: [T]) {
        u32(UInt32(values.count))
        values.withUnsafeBytes { bytes.append(contentsOf: $0) }
    }
    public mutating func doubles(_ values: [Double]) {
        u32(UInt32(values.count))
        values.withUnsafeBytes { bytes.append(contentsOf: $0) }
    }
    public mutating func optional<T>(_ v: T?, _ write: (inout BinaryWriter, T) -> Void) {
        if let v {
            u8(1)
            write(&self, v)
        } else {
            u8(0)
        }
    }
    public mutating func array<T>(_ values: some Collection<T>, _ write: (inout BinaryWriter, T) -> Void) {
        u32(UInt32(values.count))
        for v in values { write(&self, v) }
    }
}

public struct BinaryReadError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

public struct BinaryReader {
    private let bytes: [UInt8]
    public private(set) var position: Int

    public init(_ bytes: [UInt8], from position: Int = 0) {
        self.bytes = bytes
        self.position = position
    }

    public var remaining: Int { bytes.count - position }

    private mutating func take(_ count: Int) throws(BinaryReadError) -> ArraySlice<UInt8> {
        guard count >= 0, count <= remaining else { throw BinaryReadError("truncated at byte \(position): \(count) more bytes needed, \(remaining) left") }
        defer { position += count }
        return bytes[position..<position + count]
    }

    public mutating func u8() throws(BinaryReadError) -> UInt8 { try take(1).first! }
    public mutating func bool() throws(BinaryReadError) -> Bool {
        switch try u8() {
        case 0: return false
        case 1: return true
        case let b: throw BinaryReadError("bad boolean \(b) at byte \(position - 1)")
        }
    }
    public mutating func u32() throws(BinaryReadError) -> UInt32 {
        var v: UInt32 = 0
        for (i, b) in try take(4).enumerated() { v |= UInt32(b) << (8 * UInt32(i)) }
        return v
    }
    public mutating func u64() throws(BinaryReadError) -> UInt64 {
        var v: UInt64 = 0
        for (i, b) in try take(8).enumerated() { v |= UInt64(b) << (8 * UInt64(i)) }
        return v
    }
    public mutating func i64() throws(BinaryReadError) -> Int64 { Int64(bitPattern: try u64()) }
    public mutating func int() throws(BinaryReadError) -> Int {
        let v = try i64()
        guard let i = Int(exactly: v) else { throw BinaryReadError("integer out of range") }
        return i
    }
    /// A count of elements that each take at least `minimumSize` bytes: never more than what is left.
    public mutating func count(minimumSize: Int = 1) throws(BinaryReadError) -> Int {
        let n = Int(try u32())
        guard n <= remaining / max(1, minimumSize) else { throw BinaryReadError("count \(n) at byte \(position - 4) exceeds the bytes left") }
        return n
    }
    public mutating func double() throws(BinaryReadError) -> Double { Double(bitPattern: try u64()) }
    public mutating func skip(_ count: Int) throws(BinaryReadError) { _ = try take(count) }
    public mutating func string() throws(BinaryReadError) -> String {
        let n = try count()
        let slice = try take(n)
        guard let s = String(validating: slice, as: UTF8.self) else { throw BinaryReadError("invalid UTF-8 at byte \(position - n)") }
        return s
    }
    public mutating func raw() throws(BinaryReadError) -> [UInt8] {
        let n = try u64()
        guard n <= UInt64(remaining) else { throw BinaryReadError("blob of \(n) bytes exceeds the bytes left") }
        return Array(try take(Int(n)))
    }
    public mutating func numbers<T: FixedWidthInteger>(_ type: T.Type = T.self) throws(BinaryReadError) -> [T] {
        let n = try count(minimumSize: MemoryLayout<T>.size)
        let slice = try take(n * MemoryLayout<T>.size)
        return slice.withUnsafeBytes { raw in (0..<n).map { T(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * MemoryLayout<T>.size, as: T.self)) } }
    }
    public mutating func doubles() throws(BinaryReadError) -> [Double] {
        try numbers(UInt64.self).map(Double.init(bitPattern:))
    }
    public mutating func optional<T>(_ read: (inout BinaryReader) throws(BinaryReadError) -> T) throws(BinaryReadError) -> T? {
        switch try u8() {
        case 0: return nil
        case 1: return try read(&self)
        case let b: throw BinaryReadError("bad optional tag \(b) at byte \(position - 1)")
        }
    }
    public mutating func array<T>(minimumSize: Int = 1, _ read: (inout BinaryReader) throws(BinaryReadError) -> T) throws(BinaryReadError) -> [T] {
        let n = try count(minimumSize: minimumSize)
        var out: [T] = []
        out.reserveCapacity(n)
        for _ in 0..<n { out.append(try read(&self)) }
        return out
    }
}
