/// Label pairs rendered once as `name="escaped value",...` bytes, ready to be copied into every sample.
public struct LabelSet: Sendable, Equatable {
    public private(set) var bytes: [UInt8]

    public static let empty = LabelSet(bytes: [])

    init(bytes: [UInt8]) { self.bytes = bytes }

    public init(_ pairs: KeyValuePairs<String, String>) {
        self.init(bytes: [])
        for (name, value) in pairs { append(name, value) }
    }

    public init(_ pairs: [(String, String)]) {
        self.init(bytes: [])
        for (name, value) in pairs { append(name, value) }
    }

    public var isEmpty: Bool { bytes.isEmpty }

    /// Appends one pair; the value is escaped as both formats require (backslash, quote, newline).
    public mutating func append(_ name: String, _ value: String) {
        if !bytes.isEmpty { bytes.append(UInt8(ascii: ",")) }
        bytes.append(contentsOf: name.utf8)
        bytes.append(UInt8(ascii: "="))
        bytes.append(UInt8(ascii: "\""))
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\\"): bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "\\"))
            case UInt8(ascii: "\""): bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "\""))
            case UInt8(ascii: "\n"): bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "n"))
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    public func appending(_ name: String, _ value: String) -> LabelSet {
        var copy = self
        copy.append(name, value)
        return copy
    }
}
