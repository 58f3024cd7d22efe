import Foundation
import Testing
@testable import MicroHTTP

/// Framing headers (RFC 9112 section 6): the pure check, then the server refusing before any body is read.
@Suite("Request framing", .timeLimit(.minutes(1)))
struct RequestFramingTests {
    @Test func oneLengthOrIdenticalRepeatsAreOneLength() {
        #expect(RequestFraming.check(contentLengths: [], transferEncodings: []) == .length(nil))
        #expect(RequestFraming.check(contentLengths: [], transferEncodings: ["chunked"]) == .length(nil))
        #expect(RequestFraming.check(contentLengths: ["42"], transferEncodings: []) == .length(42))
        #expect(RequestFraming.check(contentLengths: ["42", "42"], transferEncodings: []) == .length(42))
        #expect(RequestFraming.check(contentLengths: ["42", " 042\t"], transferEncodings: []) == .length(42), "the same number")
        #expect(RequestFraming.check(contentLengths: ["0"], transferEncodings: []) == .length(0))
    }

    @Test func disagreeingOrMalformedFramingIsRefused() {
        #expect(RequestFraming.check(contentLengths: ["42", "5"], transferEncodings: [])
            == .refused("conflicting Content-Length headers: 42, 5"))
        #expect(RequestFraming.check(contentLengths: ["5", "5", "6"], transferEncodings: [])
            == .refused("conflicting Content-Length headers: 5, 5, 6"))
        #expect(RequestFraming.check(contentLengths: ["5"], transferEncodings: ["chunked"])
            == .refused("a request may not carry both Transfer-Encoding and Content-Length"))
        for bad in ["", "+5", "-1", "5, 5", "0x10", "5 5", "99999999999999999999999"] {
            #expect(RequestFraming.check(contentLengths: ["5", bad], transferEncodings: []) == .refused(
                "Content-Length \"\(bad.trimmingCharacters(in: [" "]))\" is not a decimal number of bytes"), "\(bad)")
        }
    }

    @Test func conflictingLengthsGet400AndTheConnectionIsClosed() async throws {
        let calls = Counter()
        try await withServer(router: HTTPServerTests.router(calls: calls)) { _, port in
            let connection = try RawConnection(port: port)
            // Framed by the first header (as MHD alone does), the body is "abcde" and the rest is a
            // second request smuggled past whatever framed it by the second header.
            let smuggled = "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n"
            let body = "abcde" + smuggled
            try connection.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
            let text = connection.receive()
            #expect(statusLines(in: text) == ["HTTP/1.1 400 Bad Request"])
            #expect(text.contains("bad request framing: conflicting Content-Length headers: 5, \(body.utf8.count)"))
            #expect(text.lowercased().contains("connection: close"))
        }
        #expect(calls.count == 0, "neither the POST nor the smuggled GET reached a handler")
    }

    @Test func identicalRepeatedLengthsAreServed() async throws {
        try await withServer(router: HTTPServerTests.router()) { _, port in
            let connection = try RawConnection(port: port)
            try connection.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nContent-Length: 5\r\nConnection: close\r\n\r\nabcde")
            let text = connection.receive()
            #expect(statusLines(in: text) == ["HTTP/1.1 200 OK"])
            #expect(text.hasSuffix("\r\n\r\nabcde"))
        }
    }
}
