#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import CSimdJSON

extension NativeEventDecoder {
    /// Decodes a request body or a chunk of complete lines: NDJSON, or a JSON array of
    /// events when its first non-space byte is `[`.
    ///
    /// NDJSON lines end in `\n` (a `\r` before it is dropped); a last line without newline
    /// counts; blank lines are skipped but numbered. `lineNumber` is 1-based for NDJSON and
    /// the 0-based element index for an array. Each bad line is rejected alone; a broken
    /// array rejects, as `invalid_json`, the element where reading stopped and ends there.
    /// `readableCapacity` (at least `body.count`) is how many bytes from the body's start
    /// may be read: padding after the body spares the last line a copy.
    public func decodeBody(
        _ body: UnsafeRawBufferPointer,
        readableCapacity: Int? = nil,
        onEvent: (consuming Event) -> Void,
        onReject: (_ lineNumber: Int, _ error: EventDecodeError) -> Void
    ) {
        guard let base = body.baseAddress else { return }
        let capacity = max(readableCapacity ?? body.count, body.count)
        var first = 0
        while first < body.count, Self.isSpace(body[first]) { first += 1 }
        guard first < body.count else { return }

        func decodeLine(_ start: Int, _ end: Int, _ number: Int) {
            let line = UnsafeRawBufferPointer(start: base + start, count: end - start)
            do {
                onEvent(try event(line: line, readableCapacity: capacity - start))
            } catch {
                onReject(number, error)
            }
        }

        if body[first] == UInt8(ascii: "[") {
            decodeArray(body, capacity: capacity, decodeElement: decodeLine, onReject: onReject)
            return
        }

        var start = 0
        var number = 0
        while start < body.count {
            number += 1
            let newline = memchr(base + start, Int32(UInt8(ascii: "\n")), body.count - start)
            let next = newline.map { UnsafeRawPointer($0) - base } ?? body.count
            var end = next
            if end > start, body[end - 1] == UInt8(ascii: "\r") { end -= 1 }
            if !Self.isBlank(body, start, end) { decodeLine(start, end, number) }
            start = next + 1
        }
    }

    /// Decodes a body held in an array; the last line is copied for padding.
    public func decodeBody(
        _ body: [UInt8],
        onEvent: (consuming Event) -> Void,
        onReject: (_ lineNumber: Int, _ error: EventDecodeError) -> Void
    ) {
        body.withUnsafeBytes { decodeBody($0, onEvent: onEvent, onReject: onReject) }
    }

    private func decodeArray(
        _ body: UnsafeRawBufferPointer,
        capacity: Int,
        decodeElement: (_ start: Int, _ end: Int, _ index: Int) -> Void,
        onReject: (_ lineNumber: Int, _ error: EventDecodeError) -> Void
    ) {
        var spans: UnsafePointer<csj_span>?
        var count = 0
        var message: UnsafePointer<CChar>?
        let status = csj_array_spans(
            parser.handle, body.baseAddress!.assumingMemoryBound(to: CChar.self), body.count,
            capacity, &spans, &count, &message)
        for index in 0..<count {
            let span = spans![index]
            if let error = rules.tooLong(span.len) {
                onReject(index, error)
            } else {
                decodeElement(span.offset, span.offset + span.len, index)
            }
        }
        if status != CSJ_OK {
            onReject(count, EventDecodeError(.invalidJSON, message.map { String(cString: $0) } ?? "not a JSON array"))
        }
    }

    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\n")
            || byte == UInt8(ascii: "\r")
    }

    private static func isBlank(_ body: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> Bool {
        var i = start
        while i < end, isSpace(body[i]) { i += 1 }
        return i == end
    }
}
