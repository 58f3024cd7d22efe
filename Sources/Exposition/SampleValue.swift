/// Renders sample values: integers without a decimal point, other floats in their shortest exact form.
enum SampleValue {
    /// The most bytes one value takes (`-2.2250738585072014e-308` is 24).
    static let maxBytes = 32

    /// Writes `value` at `out`, which has room for `maxBytes`; returns the bytes written.
    static func write(_ value: Double, to out: UnsafeMutablePointer<UInt8>) -> Int {
        // Exactly representable integers print as integers; this is also the common case.
        if value == value.rounded(.towardZero), abs(value) < 9.007_199_254_740_992e15 {
            return writeInteger(Int64(value), to: out)
        }
        if value.isNaN { return copy(nan, to: out) }
        if value.isInfinite { return copy(value > 0 ? plusInf : minusInf, to: out) }
        if let written = writeMilliFraction(value, to: out) { return written }
        var text = value.description
        return text.withUTF8 { utf8 in
            out.update(from: utf8.baseAddress!, count: utf8.count)
            return utf8.count
        }
    }

    /// Timestamps in milliseconds and ratios like 0.25 have at most three decimals: they are written
    /// as integer part and fraction without the general shortest-digits search, which is most of a
    /// scrape's float formatting. The result is the same text as `description` (tested):
    /// - `m / 1000` is a correctly rounded division of two exact integers, so when it equals `value`,
    ///   the decimal `m / 1000` reads back as `value`;
    /// - below 1e12 a double's spacing is under 1.3e-4, so no other decimal with three or fewer
    ///   decimals, the only candidates for a shorter text, reads back as `value`;
    /// - from 0.001 to 1e12 `description` writes no exponent either.
    /// Anything else returns nil.
    private static func writeMilliFraction(_ value: Double, to out: UnsafeMutablePointer<UInt8>) -> Int? {
        let magnitude = abs(value)
        guard magnitude >= 0.001, magnitude < 1e12 else { return nil }
        let scaled = (magnitude * 1000).rounded()
        guard scaled / 1000 == magnitude else { return nil }
        let thousandths = Int64(scaled)
        var written = 0
        if value < 0 { out[0] = UInt8(ascii: "-"); written = 1 }
        written += writeInteger(thousandths / 1000, to: out + written)
        var fraction = thousandths % 1000
        // Not an integer (those never get here), so the fraction is not zero; drop trailing zeros.
        var digits = 3
        while fraction % 10 == 0 { fraction /= 10; digits -= 1 }
        out[written] = UInt8(ascii: ".")
        written += 1
        var index = written + digits
        while index > written {
            index -= 1
            out[index] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: fraction % 10)
            fraction /= 10
        }
        return written + digits
    }

    static func writeInteger(_ value: Int64, to out: UnsafeMutablePointer<UInt8>) -> Int {
        if value == 0 { out[0] = UInt8(ascii: "0"); return 1 }
        var magnitude = value.magnitude
        var written = 0
        if value < 0 { out[0] = UInt8(ascii: "-"); written = 1 }
        var digits = 0
        var probe = magnitude
        while probe > 0 { digits += 1; probe /= 10 }
        var index = written + digits
        while magnitude > 0 {
            index -= 1
            out[index] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: magnitude % 10)
            magnitude /= 10
        }
        return written + digits
    }

    static func append(_ value: Double, to buffer: inout [UInt8]) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: maxBytes) { scratch in
            let count = write(value, to: scratch.baseAddress!)
            buffer.append(contentsOf: UnsafeBufferPointer(rebasing: scratch[..<count]))
        }
    }

    private static func copy(_ bytes: [UInt8], to out: UnsafeMutablePointer<UInt8>) -> Int {
        bytes.withUnsafeBufferPointer { out.update(from: $0.baseAddress!, count: $0.count) }
        return bytes.count
    }

    private static let nan = Array("NaN".utf8)
    private static let plusInf = Array("+Inf".utf8)
    private static let minusInf = Array("-Inf".utf8)
}
