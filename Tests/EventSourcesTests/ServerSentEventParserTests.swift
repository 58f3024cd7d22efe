@testable import EventSources
import Testing

/// The WHATWG HTML standard's event-stream rules (9.2.5, 9.2.6), case by case.
@Suite("Server-sent event parser")
struct ServerSentEventParserTests {
    /// What a parse produced, readable in expectations: each event as `type|data|id`, drops as `oversized:N`.
    private func parse(_ chunks: [[UInt8]], maxLineBytes: Int = 1024, maxEventBytes: Int? = nil, maxIDBytes: Int = 64,
                       endAndContinue: [[UInt8]] = []) -> (out: [String], parser: ServerSentEventParser) {
        var parser = ServerSentEventParser(maxLineBytes: maxLineBytes, maxEventBytes: maxEventBytes, maxIDBytes: maxIDBytes)
        var out: [String] = []
        let record: (ServerSentEventParser.Dispatch) -> Void = { dispatch in
            switch dispatch {
            case .event(let event):
                out.append("\(String(decoding: event.type, as: UTF8.self))|\(String(decoding: event.data, as: UTF8.self))|\(String(decoding: event.lastEventID, as: UTF8.self))")
            case .oversized(let length):
                out.append("oversized:\(length)")
            }
        }
        for chunk in chunks { parser.feed(chunk, record) }
        if !endAndContinue.isEmpty {
            parser.endOfStream()
            for chunk in endAndContinue { parser.feed(chunk, record) }
        }
        return (out, parser)
    }

    private func parse(_ text: String, maxLineBytes: Int = 1024) -> [String] {
        parse([Array(text.utf8)], maxLineBytes: maxLineBytes).out
    }

    /// Every way of cutting `bytes` in two, and byte by byte, gives what one chunk gives.
    private func expectChunkingIrrelevant(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let bytes = Array(text.utf8)
        let whole = parse([bytes]).out
        for cut in 0...bytes.count {
            #expect(parse([Array(bytes[..<cut]), Array(bytes[cut...])]).out == whole, "cut at \(cut)", sourceLocation: sourceLocation)
        }
        #expect(parse(bytes.map { [$0] }).out == whole, "byte by byte", sourceLocation: sourceLocation)
    }

    @Test("the standard's examples: one and two data lines, event types, ids")
    func standardExamples() {
        #expect(parse("data: This is the first message.\n\ndata: This is the second message, it\ndata: has two lines.\n\ndata: This is the third message.\n\n") == [
            "|This is the first message.|", "|This is the second message, it\nhas two lines.|", "|This is the third message.|",
        ])
        #expect(parse("event: add\ndata: 73857293\n\nevent: remove\ndata: 2153\n\n") == ["add|73857293|", "remove|2153|"])
        // "data" without a colon is a data field with an empty value; two of them make a data buffer of one LF.
        #expect(parse("data\n\ndata\ndata\n\ndata:\n") == ["||", "|\n|"])
        // One leading space is removed, not two; none is needed.
        #expect(parse("data:test\n\ndata: test\n\ndata:  test\n\n") == ["|test|", "|test|", "| test|"])
    }

    @Test("CR, LF and CRLF end lines, mixed, and a CRLF split between chunks is one line end")
    func lineEndings() {
        #expect(parse("data: a\r\rdata: b\n\ndata: c\r\n\r\ndata: d\r\n\n") == ["|a|", "|b|", "|c|", "|d|"])
        // CR then LF in the next chunk: one line end, not an empty line that would dispatch early.
        #expect(parse([Array("data: a\r".utf8), Array("\ndata: b\r\n\r\n".utf8)]).out == ["|a\nb|"])
        // CR at a chunk's end followed by another line: still a line end.
        #expect(parse([Array("data: a\r".utf8), Array("data: b\r\r".utf8)]).out == ["|a\nb|"])
        expectChunkingIrrelevant("data: one\r\ndata: two\r\rid: 7\n:c\r\n\r\nevent: x\rdata:y\n\n")
    }

    @Test("a leading BOM is skipped once, even split, and only at the start of a stream")
    func byteOrderMark() {
        let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
        #expect(parse([bom + Array("data: a\n\n".utf8)]).out == ["|a|"])
        #expect(parse([[0xEF], [0xBB, 0xBF], Array("data: a\n\n".utf8)]).out == ["|a|"])
        // A second BOM is part of the field name, which is then unknown: ignored.
        #expect(parse([bom + bom + Array("data: a\n\ndata: b\n\n".utf8)]).out == ["|b|"])
        #expect(parse([Array("data: a\n\n".utf8) + bom + Array("data: b\n\n".utf8)]).out == ["|a|"])
        // A new stream (after a reconnect) may start with its own BOM.
        #expect(parse([bom + Array("data: a\n\n".utf8)], endAndContinue: [bom + Array("data: b\n\n".utf8)]).out == ["|a|", "|b|"])
        // Two of the three bytes, then a line end: not a BOM, a field name of two bytes.
        #expect(parse([[0xEF, 0xBB], Array("\ndata: a\n\n".utf8)]).out == ["|a|"])
        expectChunkingIrrelevant("\u{FEFF}data: x\n\n")
    }

    @Test("comments and unknown fields are ignored, and so are fields without data")
    func commentsAndUnknownFields() {
        #expect(parse(": keep-alive\n\n:\ndata: a\n: inside\n\nfoo: bar\nDATA: no\ndata : no\n\n") == ["|a|"])
        // An event with only a type, or nothing, dispatches nothing.
        #expect(parse("event: x\n\n\n\n") == [])
    }

    @Test("an empty data buffer dispatches nothing, yet the dispatch still sets the last event id")
    func emptyDataSetsID() {
        let (out, parser) = parse([Array("id: 5\n\n".utf8)])
        #expect(out.isEmpty)
        #expect(parser.lastEventID == Array("5".utf8))
        #expect(parse("id: 1\n\ndata: a\n\n") == ["|a|1"])
    }

    @Test("the last event id changes at dispatch, persists across events, resets when empty, ignores NUL and long ids")
    func ids() {
        #expect(parse("data: a\nid: 1\n\ndata: b\n\nid\ndata: c\n\nid: 2\ndata: d\n\nid: 3\u{0}x\ndata: e\n\n") == [
            "|a|1", "|b|1", "|c|", "|d|2", "|e|2",
        ])
        // The id of an event cut off by the end of the stream is never taken.
        let cut = parse([Array("id: 1\ndata: a\n\nid: 2\ndata: b\n".utf8)])
        #expect(cut.out == ["|a|1"])
        #expect(cut.parser.lastEventID == Array("1".utf8))
        var parser = cut.parser
        parser.endOfStream()
        #expect(parser.lastEventID == Array("1".utf8))
        // Longer than maxIDBytes (64 here): ignored like an id with NUL.
        #expect(parse("id: 9\ndata: a\n\nid: \(String(repeating: "x", count: 65))\ndata: b\n\n") == ["|a|9", "|b|9"])
        // An id field without a value, or with only the space, empties it.
        #expect(parse("id: 9\n\nid:\ndata: a\n\nid: 8\n\nid: \ndata: b\n\n") == ["|a|", "|b|"])
    }

    @Test("the last event id is only updated by a dispatch: an event cut off by the stream's end is discarded")
    func endOfStreamDiscardsEvent() {
        let (out, parser) = parse([Array("id: 1\ndata: a\n\nid: 2\ndata: b".utf8)], endAndContinue: [Array("data: c\n\n".utf8)])
        #expect(out == ["|a|1", "|c|1"])
        #expect(parser.lastEventID == Array("1".utf8))
    }

    @Test("retry takes ASCII digits only, and survives a new stream")
    func retry() {
        #expect(parse([Array("retry: 1500\n\n".utf8)]).parser.reconnectionTime == 1500)
        for bad in ["retry: 15s\n", "retry: -1\n", "retry:\n", "retry: 1.5\n", "retry:  100\n", "retry\n"] {
            #expect(parse([Array(bad.utf8)]).parser.reconnectionTime == nil, "\(bad)")
        }
        #expect(parse([Array("retry: 99999999999999999999999999\n".utf8)]).parser.reconnectionTime == Int.max)
        #expect(parse([Array("retry: 200\n".utf8)], endAndContinue: [Array("data: a\n\n".utf8)]).parser.reconnectionTime == 200)
        #expect(parse([Array("retry: 200\nretry: x\n".utf8)]).parser.reconnectionTime == 200)
    }

    @Test("a line over the bound is skipped without being held; a long data line drops its whole event")
    func oversizedLines() {
        let long = String(repeating: "x", count: 100)
        // maxLineBytes 40: lines up to 40 + 16 bytes are held.
        let (out, parser) = parse([Array("data: a\ndata: \(long)\ndata: b\n\ndata: ok\n\n".utf8)], maxLineBytes: 40)
        #expect(out == ["oversized:110", "|ok|"])
        #expect(parser.heldByteCount == 0)
        // A long comment or unknown field is just skipped; a long id is ignored.
        #expect(parse([Array(": \(long)\nfoo: \(long)\nid: \(long)\ndata: a\n\n".utf8)], maxLineBytes: 40).out == ["|a|"])
        // Split into many chunks, the held bytes stay bounded.
        var split = ServerSentEventParser(maxLineBytes: 40)
        var count = 0
        for _ in 0..<1000 { split.feed(Array("data: yyyyyyyyyy".utf8)) { _ in count += 1 } }
        #expect(split.heldByteCount <= 40 + ServerSentEventParser.fieldNameRoom)
        split.feed(Array("\n\ndata: z\n\n".utf8)) { _ in count += 1 }
        #expect(count == 2)
        expectChunkingIrrelevant("data: a\ndata: \(String(repeating: "y", count: 2000))\n\ndata: b\n\n")
    }

    @Test("data past the event bound drops the event, reported once")
    func oversizedEvent() {
        let (out, _) = parse([Array("data: 12345\ndata: 12345\ndata: 12345\n\ndata: small\n\n".utf8)], maxLineBytes: 1024, maxEventBytes: 14)
        #expect(out == ["oversized:18", "|small|"])
    }

    @Test("events carrying several NDJSON lines keep them, joined with LF")
    func severalLines() {
        #expect(parse("id: 3\ndata: {\"a\":1}\ndata: {\"b\":2}\n\n") == ["|{\"a\":1}\n{\"b\":2}|3"])
    }

    @Test("reconnect delays: the base doubles per failure up to the cap, plus up to half at random; at least 0.1 s")
    func reconnectDelay() {
        #expect(ServerSentEventSource.reconnectDelay(failures: 0, base: 0.5, cap: 30, jitter: 0) == 0.5)
        #expect(ServerSentEventSource.reconnectDelay(failures: 3, base: 0.5, cap: 30, jitter: 0) == 4)
        #expect(ServerSentEventSource.reconnectDelay(failures: 10, base: 0.5, cap: 30, jitter: 0) == 30)
        #expect(ServerSentEventSource.reconnectDelay(failures: 10_000, base: 0.5, cap: 30, jitter: 0.999) < 45)
        #expect(ServerSentEventSource.reconnectDelay(failures: 1, base: 0.5, cap: 30, jitter: 1) == 1.5)
        // The server's retry is the base, within the cap; 0 does not make a hot loop.
        #expect(ServerSentEventSource.reconnectDelay(failures: 0, base: 5, cap: 30, jitter: 0) == 5)
        #expect(ServerSentEventSource.reconnectDelay(failures: 0, base: 1e12, cap: 30, jitter: 0) == 30)
        #expect(ServerSentEventSource.reconnectDelay(failures: 0, base: 0, cap: 30, jitter: 0) == 0.1)
    }

    @Test("URLs are shown without credentials, query or fragment")
    func redaction() {
        #expect(ServerSentEventSource.redacted("https://user:secret@tracker.example:8443/stream?token=abc#x") == "https://tracker.example:8443/stream")
        #expect(ServerSentEventSource.redacted("http://127.0.0.1:1/a@b") == "http://127.0.0.1:1/a@b")
        #expect(ServerSentEventSource.redacted("http://u@h") == "http://h")
        var settings = ServerSentEventSource.Settings(url: "http://user:pw@h/s?token=q", authorization: "Bearer s3cret")
        settings.lastEventID = "7"
        var dumped = ""
        dump(settings, to: &dumped)
        for shown in ["\(settings)", String(describing: settings), String(reflecting: settings), dumped] {
            #expect(!shown.contains("s3cret") && !shown.contains("pw") && !shown.contains("token=q"), "\(shown)")
        }
    }
}
