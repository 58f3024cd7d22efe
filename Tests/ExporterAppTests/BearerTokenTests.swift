import Foundation
import Testing
@testable import ExporterApp

@Suite struct BearerTokenTests {
    static func token(_ text: String) throws -> BearerToken { try BearerToken(fileContents: Array(text.utf8)) }

    @Test func trailingLineBreaksAreDroppedAndNothingElse() throws {
        let token = try Self.token("abc-123\r\n\n")
        #expect(token.isPresented(in: "Bearer abc-123"))
        #expect(!token.isPresented(in: "Bearer abc-123\n"))
        #expect(throws: BearerToken.Problem.empty) { try Self.token("") }
        #expect(throws: BearerToken.Problem.empty) { try Self.token("\n") }
        #expect(throws: BearerToken.Problem.empty) { try Self.token("\r\n\r\n") }
        #expect(throws: BearerToken.Problem.notVisibleASCII(offset: 0)) { try Self.token(" abc\n") }
        #expect(throws: BearerToken.Problem.notVisibleASCII(offset: 3)) { try Self.token("abc\tdef") }
        #expect(throws: BearerToken.Problem.notVisibleASCII(offset: 3)) { try Self.token("abc\ndef") }
        #expect(throws: BearerToken.Problem.notVisibleASCII(offset: 1)) { try Self.token("xü") }
    }

    @Test func theSchemeIsCaseInsensitiveTheTokenIsNot() throws {
        let token = try Self.token("Sesame.Open=")
        for accepted in ["Bearer Sesame.Open=", "bearer Sesame.Open=", "BEARER Sesame.Open=", "bEaReR   Sesame.Open="] {
            #expect(token.isPresented(in: accepted), "\(accepted)")
        }
        for refused in [nil, "", "Bearer", "Bearer ", "Bearer sesame.open=", "Bearer Sesame.Open", "Bearer Sesame.Open==",
                        "BearerSesame.Open=", "Bearer\tSesame.Open=", "Basic Sesame.Open=", "Bearerx Sesame.Open=",
                        "Sesame.Open=", "Bearer Sesame.Open= x"] {
            #expect(!token.isPresented(in: refused), "\(refused ?? "nil")")
        }
    }

    @Test func bytesNotUnicodeEquivalence() throws {
        let token = try Self.token("K;A")
        // KELVIN SIGN and GREEK QUESTION MARK are canonically equivalent to K and ; so String == says equal.
        let lookalike = "\u{212A}\u{37E}A"
        #expect(lookalike == "K;A")
        #expect(!token.isPresented(in: "Bearer " + lookalike))
        #expect(token.isPresented(in: "Bearer K;A"))
    }

    @Test func constantTimeEqualityIsEquality() {
        let expected = Array("secret".utf8)
        #expect(BearerToken.constantTimeEqual(expected, Array("secret".utf8)[...]))
        for other in ["", "s", "secre", "secreT", "Secret", "secret!", "secretsecret"] {
            #expect(!BearerToken.constantTimeEqual(expected, Array(other.utf8)[...]), "\(other)")
        }
        // A slice that does not start at index 0.
        let padded = Array("xxsecret".utf8)
        #expect(BearerToken.constantTimeEqual(expected, padded[2...]))
    }

    @Test func itNeverPrints() throws {
        let token = try Self.token("do-not-print-me")
        var options = ExporterOptions()
        options.eventsBearerToken = token
        for text in ["\(token)", String(describing: token), String(reflecting: token), "\(options)", String(reflecting: options)] {
            #expect(!text.contains("do-not-print-me"), "\(text)")
        }
        var dumped = ""
        dump(options, to: &dumped)
        #expect(!dumped.contains("do-not-print-me"))
    }

    @Test func readingAFile() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("pe-token-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("token")
        try Data("from-a-file\n".utf8).write(to: file)
        #expect(try BearerToken.load(file: file.path).isPresented(in: "Bearer from-a-file"))
        #expect(throws: BearerToken.Problem.unreadable("No such file or directory")) {
            try BearerToken.load(file: folder.appendingPathComponent("absent").path)
        }
        #expect(throws: BearerToken.Problem.unreadable("Is a directory")) { try BearerToken.load(file: folder.path) }
        try Data(repeating: UInt8(ascii: "x"), count: 70_000).write(to: file)
        #expect(throws: BearerToken.Problem.self) { try BearerToken.load(file: file.path) }
    }
}
