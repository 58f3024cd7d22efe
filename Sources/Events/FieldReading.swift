#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import CSimdJSON

/// Owns one simdjson parser of the C shim; freed with its owner.
final class SimdJSONParser {
    let handle: OpaquePointer

    init() {
        guard let handle = csj_parser_create() else { fatalError("csj_parser_create: out of memory") }
        self.handle = handle
    }

    deinit { csj_parser_destroy(handle) }
}

extension csj_view {
    /// The viewed bytes; empty when absent.
    var bytes: UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: UnsafeRawPointer(ptr)?.assumingMemoryBound(to: UInt8.self), count: len)
    }

    var string: String? { ptr == nil ? nil : String(decoding: bytes, as: UTF8.self) }
}

/// The last id read, handed out again while lines repeat it (a body is mostly one job), so
/// an id longer than a small string (15 bytes) is not built and allocated per line.
struct RecentID {
    private var last = ""

    mutating func string(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        let same = last.utf8.withContiguousStorageIfAvailable {
            $0.count == bytes.count && memcmp($0.baseAddress!, bytes.baseAddress!, bytes.count) == 0
        }
        if same != true { last = String(decoding: bytes, as: UTF8.self) }
        return last
    }
}

/// The checks shared by every decoder: ids, and the wording of rejections.
struct FieldRules {
    let limits: DecoderLimits

    /// The bytes of an id (`job`, `agent`, `item`, `id`): non-empty, no NUL, at most
    /// `maxIdBytes` bytes; nil when absent.
    func idBytes(_ view: csj_view, _ field: String) throws(EventDecodeError) -> UnsafeBufferPointer<UInt8>? {
        guard view.ptr != nil else { return nil }
        let bytes = view.bytes
        guard !bytes.isEmpty else { throw EventDecodeError(.invalidValue, "\(field): empty") }
        guard bytes.count <= limits.maxIdBytes else {
            throw EventDecodeError(.invalidValue, "\(field): longer than \(limits.maxIdBytes) bytes")
        }
        guard memchr(bytes.baseAddress!, 0, bytes.count) == nil else {
            throw EventDecodeError(.invalidValue, "\(field): contains NUL")
        }
        return bytes
    }

    func id(_ view: csj_view, _ field: String) throws(EventDecodeError) -> String? {
        try idBytes(view, field).map { String(decoding: $0, as: UTF8.self) }
    }

    func tooLong(_ count: Int) -> EventDecodeError? {
        count > limits.maxLineBytes
            ? EventDecodeError(.tooLong, "line of \(count) bytes, longer than \(limits.maxLineBytes)")
            : nil
    }

    static func missing(_ field: String) -> EventDecodeError {
        EventDecodeError(.missingField, "missing field \(field)")
    }

    static func negative(_ value: Int64?, _ field: String) throws(EventDecodeError) {
        if let value, value < 0 { throw EventDecodeError(.invalidValue, "\(field): negative") }
    }

    /// A value from the input, quoted and cut short enough for a log line.
    static func quoted(_ view: csj_view) -> String {
        let bytes = view.bytes
        let shown = String(decoding: bytes.prefix(64), as: UTF8.self)
        return "\"\(shown)\(bytes.count > 64 ? "..." : "")\""
    }
}
