import Events
import Testing

@Suite struct BodyDecodingTests {
    let decoder = NativeEventDecoder()

    static let heartbeat = #"{"type":"agent_heartbeat","job":"j","agent":"a"}"#
    static func heartbeat(_ agent: String) -> String {
        #"{"type":"agent_heartbeat","job":"j","agent":"\#(agent)"}"#
    }

    static func agents(_ events: [Event]) -> [String?] { events.map(\.agent) }

    @Test func keepsTheGoodLinesAroundABadOne() throws {
        let body = [
            Self.heartbeat("a1"),
            #"{"type":"agent_heartbeat","job":"j""#,
            Self.heartbeat("a3"),
            #"{"type":"job_exploded","job":"j"}"#,
            Self.heartbeat("a5"),
        ].joined(separator: "\n") + "\n"
        let (events, rejects) = decoder.decodeBody(body)
        #expect(Self.agents(events) == ["a1", "a3", "a5"])
        #expect(rejects.map(\.line) == [2, 4])
        #expect(rejects.map(\.error.reason) == [.invalidJSON, .unknownType])
    }

    @Test func toleratesCRLFBlankLinesAndALastLineWithoutNewline() {
        let body = "\r\n" + Self.heartbeat("a2") + "\r\n\r\n  \t\n" + Self.heartbeat("a5") + "\r\n" + Self.heartbeat("a6")
        let (events, rejects) = decoder.decodeBody(body)
        #expect(Self.agents(events) == ["a2", "a5", "a6"])
        #expect(rejects.isEmpty)
    }

    @Test func numbersLinesCountingBlankOnes() {
        let body = "\n\n" + Self.heartbeat("a3") + "\n\n{}\n"
        let (events, rejects) = decoder.decodeBody(body)
        #expect(events.count == 1)
        #expect(rejects.map(\.line) == [5])
        #expect(rejects.first?.error == EventDecodeError(.missingField, "missing field type"))
    }

    @Test func emptyAndBlankBodiesHoldNothing() {
        for body in ["", "\n", " \r\n\t\n"] {
            let (events, rejects) = decoder.decodeBody(body)
            #expect(events.isEmpty && rejects.isEmpty)
        }
    }

    @Test func rejectsAnOverlongLineWithoutParsingIt() {
        let decoder = NativeEventDecoder(limits: DecoderLimits(maxLineBytes: 60))
        let long = #"{"type":"agent_heartbeat","job":"j","agent":"\#(String(repeating: "x", count: 40))"}"#
        let (events, rejects) = decoder.decodeBody(Self.heartbeat("a1") + "\n" + long + "\n" + Self.heartbeat("a3"))
        #expect(Self.agents(events) == ["a1", "a3"])
        #expect(rejects.map(\.line) == [2])
        #expect(rejects.first?.error.reason == .tooLong)
    }

    @Test func readsAJSONArrayElementByElement() {
        let body = "\n  [" + Self.heartbeat("a0") + ",\n {\"type\":\"nope\",\"job\":\"j\"} , 17,"
            + Self.heartbeat("a3") + "]\n"
        let (events, rejects) = decoder.decodeBody(body)
        #expect(Self.agents(events) == ["a0", "a3"])
        #expect(rejects.map(\.line) == [1, 2])
        #expect(rejects.map(\.error.reason) == [.unknownType, .invalidJSON])
        #expect(rejects.last?.error.detail == "not a JSON object")
    }

    @Test func stopsABrokenArrayWhereReadingStopped() {
        let body = "[" + Self.heartbeat("a0") + "," + Self.heartbeat("a1") + " " + Self.heartbeat("a2") + "]"
        let (events, rejects) = decoder.decodeBody(body)
        #expect(Self.agents(events) == ["a0", "a1"])
        #expect(rejects.map(\.line) == [2])
        #expect(rejects.first?.error.reason == .invalidJSON)
    }

    @Test func emptyArrayHoldsNothing() {
        let (events, rejects) = decoder.decodeBody("[ ]")
        #expect(events.isEmpty && rejects.isEmpty)
    }

    @Test func arrayElementsObeyTheLineLimit() {
        let decoder = NativeEventDecoder(limits: DecoderLimits(maxLineBytes: 60))
        let long = #"{"type":"agent_heartbeat","job":"j","agent":"\#(String(repeating: "x", count: 40))"}"#
        let (events, rejects) = decoder.decodeBody("[" + long + "," + Self.heartbeat("a1") + "]")
        #expect(Self.agents(events) == ["a1"])
        #expect(rejects.map(\.line) == [0])
        #expect(rejects.first?.error.reason == .tooLong)
    }

    @Test func paddedBodiesDecodeInPlace() {
        let body = Array((Self.heartbeat("a1") + "\n" + Self.heartbeat("a2")).utf8)
        let padded = body + Array(repeating: 0, count: 64)
        var agents: [String?] = []
        padded.withUnsafeBytes { bytes in
            decoder.decodeBody(
                UnsafeRawBufferPointer(rebasing: bytes[..<body.count]), readableCapacity: bytes.count,
                onEvent: { agents.append($0.agent) }, onReject: { _, _ in Issue.record("rejected") })
        }
        #expect(agents == ["a1", "a2"])
    }
}
