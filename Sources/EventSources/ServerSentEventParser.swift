/// Parses a `text/event-stream` byte stream as the WHATWG HTML standard's "Server-sent events"
/// section says (9.2.5 Parsing an event stream, 9.2.6 Interpreting an event stream), with bounds.
///
/// - A UTF-8 byte order mark at the very start of a stream is skipped, once.
/// - Lines end with CRLF, LF or CR (a CRLF split between two chunks is one line end).
/// - An empty line dispatches the event; a line starting with `:` is a comment; otherwise the field
///   name runs to the first `:` (or the whole line) and the value follows, with one leading space
///   removed.
/// - `data` appends its value and a LF to the data buffer; `event` sets the event type; `id` sets
///   the last event ID buffer unless the value contains NUL; `retry` sets the reconnection time
///   when its value is ASCII digits only; any other field is ignored.
/// - Dispatch sets the last event ID (even for an event without data), then delivers the data
///   without its trailing LF, unless the data buffer is empty.
/// - At the end of a stream an event without its closing empty line is discarded (`endOfStream`).
///
/// Bounds (every input is hostile): a line longer than `maxLineBytes` plus room for its field name
/// is skipped without being held; a skipped `data` line drops its whole event, and so does data
/// past `maxEventBytes` (each reported once, at its dispatch); an `id` longer than `maxIDBytes` is
/// ignored as one with NUL is. Pure: it reads only the bytes it is given, so it is tested on literals.
public struct ServerSentEventParser: Sendable {
    /// One dispatched event.
    public struct Event: Equatable, Sendable {
        public var type: [UInt8]
        public var data: [UInt8]
        /// The last event ID when it was dispatched.
        public var lastEventID: [UInt8]
    }

    /// What feeding a chunk produced, in stream order.
    public enum Dispatch: Equatable, Sendable {
        case event(Event)
        /// An event dropped for a `data` line or a data buffer over the bounds; its size so far.
        case oversized(length: Int)
    }

    /// Bytes a line may have beyond `maxLineBytes`: a field name, the colon and a space.
    static let fieldNameRoom = 16

    let maxLineBytes: Int
    let maxEventBytes: Int
    let maxIDBytes: Int

    /// The last event ID string: sent as `Last-Event-ID` when reconnecting; survives streams.
    private(set) var lastEventID: [UInt8]
    /// The reconnection time in milliseconds from the latest valid `retry` field; survives streams.
    private(set) var reconnectionTime: Int?

    private var line: [UInt8] = []
    /// Length so far of a line too long to hold, and its first bytes (to tell its field name).
    private var skipped: (length: Int, head: [UInt8])?

    /// Bytes skipped so far of a line longer than the limit whose end has not been seen yet (0 when none).
    public var overlongLineBytes: Int { skipped?.length ?? 0 }
    /// The previous chunk ended in CR: a LF starting this one belongs to it.
    private var afterCR = false
    /// Nothing of this stream is parsed yet, so a BOM may still come.
    private var atStreamStart = true
    private var data: [UInt8] = []
    private var eventType: [UInt8] = []
    private var idBuffer: [UInt8]
    /// The event being assembled lost data to a bound; its data length at that point.
    private var droppedLength: Int?

    public init(maxLineBytes: Int, maxEventBytes: Int? = nil, maxIDBytes: Int = 1024, lastEventID: [UInt8] = []) {
        precondition(maxLineBytes > 0, "maxLineBytes must be positive")
        self.maxLineBytes = maxLineBytes
        self.maxEventBytes = maxEventBytes ?? maxLineBytes
        self.maxIDBytes = maxIDBytes
        self.lastEventID = lastEventID
        idBuffer = lastEventID
    }

    /// Bytes held: the unfinished line and the event being assembled.
    var heldByteCount: Int { line.count + data.count + eventType.count }

    /// Parses a chunk; calls `dispatch` for each event (or dropped event) it completes.
    public mutating func feed(_ chunk: UnsafeBufferPointer<UInt8>, _ dispatch: (Dispatch) -> Void) {
        var index = 0
        let count = chunk.count
        if afterCR, index < count {
            afterCR = false
            if chunk[index] == 0x0A { index += 1 }
        }
        while index < count {
            var end = index
            while end < count, chunk[end] != 0x0A, chunk[end] != 0x0D { end += 1 }
            append(UnsafeBufferPointer(rebasing: chunk[index..<end]))
            guard end < count else { break }
            if chunk[end] == 0x0D {
                if end + 1 < count {
                    if chunk[end + 1] == 0x0A { end += 1 }
                } else {
                    afterCR = true
                }
            }
            endLine(dispatch)
            index = end + 1
        }
    }

    /// Parses the bytes of an array (for tests and small inputs).
    mutating func feed(_ bytes: [UInt8], _ dispatch: (Dispatch) -> Void) {
        bytes.withUnsafeBufferPointer { feed($0, dispatch) }
    }

    /// The stream ended (or broke): the unfinished line and event are discarded, and the next bytes
    /// are a new stream (which may start with a BOM). The last event ID and reconnection time stay.
    mutating func endOfStream() {
        line = []
        skipped = nil
        afterCR = false
        atStreamStart = true
        data = []
        eventType = []
        droppedLength = nil
        idBuffer = lastEventID
    }

    /// Adds bytes of the current line, holding at most `maxLineBytes + fieldNameRoom` of them.
    private mutating func append(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard !bytes.isEmpty else { return }
        if atStreamStart {
            // The BOM is the stream's first three bytes, which may arrive in pieces.
            line.append(contentsOf: bytes)
            let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
            let prefix = min(line.count, 3)
            if line.prefix(prefix).elementsEqual(bom.prefix(prefix)) {
                guard line.count >= 3 else { return }
                line.removeFirst(3)
            }
            atStreamStart = false
            if line.count > maxLineBytes + Self.fieldNameRoom {
                skipped = (line.count, Array(line.prefix(Self.fieldNameRoom)))
                line = []
            }
            return
        }
        if let current = skipped {
            skipped = (current.length + bytes.count, current.head)
        } else if line.count + bytes.count > maxLineBytes + Self.fieldNameRoom {
            var head = line.prefix(Self.fieldNameRoom) + bytes.prefix(Self.fieldNameRoom)
            head = head.prefix(Self.fieldNameRoom)
            skipped = (line.count + bytes.count, Array(head))
            line = []
        } else {
            line.append(contentsOf: bytes)
        }
    }

    private mutating func endLine(_ dispatch: (Dispatch) -> Void) {
        // A line end before any byte: the stream started with an empty line, so no BOM any more.
        atStreamStart = false
        if let current = skipped {
            skipped = nil
            // Only its head is known; a skipped data line drops its event, any other field is ignored.
            if current.head.first != UInt8(ascii: ":"), fieldName(of: current.head).elementsEqual("data".utf8) {
                droppedLength = (droppedLength ?? data.count) + current.length
                data = []
            }
            return
        }
        defer { line.removeAll(keepingCapacity: line.count <= 4096) }
        if line.isEmpty {
            dispatchEvent(dispatch)
            return
        }
        if line[0] == UInt8(ascii: ":") { return }
        let name: ArraySlice<UInt8>
        var value: ArraySlice<UInt8>
        if let colon = line.firstIndex(of: UInt8(ascii: ":")) {
            name = line[..<colon]
            value = line[(colon + 1)...]
            if value.first == UInt8(ascii: " ") { value = value.dropFirst() }
        } else {
            name = line[...]
            value = []
        }
        process(field: name, value: value)
    }

    private func fieldName(of head: [UInt8]) -> ArraySlice<UInt8> {
        head.firstIndex(of: UInt8(ascii: ":")).map { head[..<$0] } ?? head[...]
    }

    private mutating func process(field name: ArraySlice<UInt8>, value: ArraySlice<UInt8>) {
        if name.elementsEqual("data".utf8) {
            if let dropped = droppedLength {
                droppedLength = dropped + value.count + 1
            } else if data.count + value.count > maxEventBytes {
                droppedLength = data.count + value.count + 1
                data = []
            } else {
                data.append(contentsOf: value)
                data.append(0x0A)
            }
        } else if name.elementsEqual("event".utf8) {
            eventType = Array(value)
        } else if name.elementsEqual("id".utf8) {
            if !value.contains(0), value.count <= maxIDBytes { idBuffer = Array(value) }
        } else if name.elementsEqual("retry".utf8) {
            guard !value.isEmpty, value.allSatisfy({ (0x30...0x39).contains($0) }) else { return }
            var milliseconds = 0
            for digit in value {
                let (times, overflow1) = milliseconds.multipliedReportingOverflow(by: 10)
                let (sum, overflow2) = times.addingReportingOverflow(Int(digit - 0x30))
                if overflow1 || overflow2 { milliseconds = Int.max; break }
                milliseconds = sum
            }
            reconnectionTime = milliseconds
        }
    }

    private mutating func dispatchEvent(_ dispatch: (Dispatch) -> Void) {
        lastEventID = idBuffer
        defer {
            data.removeAll(keepingCapacity: data.count <= 4096)
            eventType = []
            droppedLength = nil
        }
        if let dropped = droppedLength {
            dispatch(.oversized(length: dropped))
            return
        }
        guard !data.isEmpty else { return }
        data.removeLast()
        dispatch(.event(Event(type: eventType, data: data, lastEventID: lastEventID)))
    }
}
