/// Renders sample values: integers without a decimal point, other floats in their shortest exact form.
enum SampleValue {
    static func append(_ value: Double, to buffer: inout [UInt8]) {
        if value.isNaN { buffer.append(contentsOf: nan); return }
        if value.isInfinite { buffer.append(contentsOf: value > 0 ? plusInf : minusInf); return }
        // Exactly representable integers print as integers; this is also the common case.
        if value == value.rounded(.towardZero), abs(value) < 9.007_199_254_740_992e15 {
            appendInteger(Int64(value), to: &buffer)
            return
        }
        buffer.append(contentsOf: value.description.utf8)
    }

    static func appendInteger(_ value: Int64, to buffer: inout [UInt8]) {
        if value == 0 { buffer.append(UInt8(ascii: "0")); return }
        var magnitude = value.magnitude
        if value < 0 { buffer.append(UInt8(ascii: "-")) }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var count = 0
            while magnitude > 0 {
                digits[count] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
                count += 1
            }
            while count > 0 {
                count -= 1
                buffer.append(digits[count])
            }
        }
    }

    private static let nan = Array("NaN".utf8)
    private static let plusInf = Array("+Inf".utf8)
    private static let minusInf = Array("-Inf".utf8)
}
