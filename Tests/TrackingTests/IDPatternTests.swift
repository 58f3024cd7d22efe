import CRE2
import Testing
import Tracking

/// The RE2 shim (CRE2) and `IDPattern` over it: full matches, UTF-8, RE2's reasons for bad patterns.
@Suite struct IDPatternTests {
    @Test func matchesTheWholeIdOnly() throws {
        let pattern = try IDPattern("etl-[0-9]+")
        #expect(pattern.matches("etl-42"))
        #expect(!pattern.matches("etl-42x"), "no match of a prefix")
        #expect(!pattern.matches("xetl-42"), "no match of a suffix")
        #expect(!pattern.matches("etl-42\n"), "$ never matches before a final newline")
        // The anchors hold for the whole alternation, not for its first and last branch only.
        let alternation = try IDPattern("a|b")
        #expect(alternation.matches("a") && alternation.matches("b"))
        #expect(!alternation.matches("ab") && !alternation.matches("ba"))
        #expect(try IDPattern("").matches(""))
        #expect(!(try IDPattern("")).matches("x"))
        #expect(try IDPattern(".*").matches(""))
    }

    @Test func readsPatternsAndIdsAsUTF8() throws {
        #expect(try IDPattern("über-.*").matches("über-job"))
        #expect(!(try IDPattern("uber-.*")).matches("über-job"))
        // `.` is one code point, not one byte: ü (2 bytes), € (3), 😀 (4).
        let three = try IDPattern("...")
        #expect(three.matches("ü€😀"))
        #expect(!three.matches("ü€"))
        #expect(try IDPattern("[äöü]+").matches("üöä"))
        #expect(try IDPattern("\\p{Greek}+").matches("αβγ"))
        // Bytes are bytes: no Unicode normalization (é precomposed is not e + combining acute).
        #expect(!(try IDPattern("caf\u{E9}")).matches("cafe\u{301}"))
        // An id with a NUL byte is matched to its end, not to the NUL.
        #expect(!(try IDPattern("a")).matches("a\u{0}b"))
        #expect(try IDPattern("a.b").matches("a\u{0}b"))
    }

    @Test(arguments: [
        ("(a", "missing ): (a"),
        ("[", "missing ]: ["),
        ("a**", "bad repetition operator: **"),
        ("(a)\\1", "invalid escape sequence: \\1"),
        ("(?=a)", "invalid perl operator: (?="),
    ])
    func refusesInvalidPatternsWithRE2sReason(pattern: String, reason: String) {
        #expect {
            _ = try IDPattern(pattern)
        } throws: { error in
            guard let error = error as? IDPattern.Invalid else { return false }
            return error.pattern == pattern && error.reason == reason
                && error.description == "\"\(pattern)\" is not a valid regular expression: \(reason)"
        }
    }

    /// A pattern that makes a backtracking engine take about 2^31 steps on this id; RE2 answers at once.
    @Test func nestedRepetitionDoesNotBacktrack() throws {
        let pattern = try IDPattern("(a+)+$")
        let id = String(repeating: "a", count: 31) + "b"
        for _ in 0..<1000 { #expect(!pattern.matches(id)) }
        #expect(pattern.matches(String(repeating: "a", count: 31)))
    }

    @Test func matchesFromManyThreadsAtOnce() async throws {
        let pattern = try IDPattern("w-[0-9]{3}")
        let results = await withTaskGroup(of: Int.self) { group in
            for task in 0..<8 {
                group.addTask {
                    (0..<2000).reduce(0) { count, index in count + (pattern.matches("w-\((index + task) % 1000)") ? 1 : 0) }
                }
            }
            return await group.reduce(0, +)
        }
        // Per task, ids 100...999 of each 1000 have three digits: 1800 of 2000.
        #expect(results == 8 * 1800)
    }

    @Test func theCFunctionsDirectly() {
        var error: UnsafeMutablePointer<CChar>?
        let bad = "x(".utf8CString
        let none = bad.withUnsafeBufferPointer { pe_re2_compile($0.baseAddress, $0.count - 1, &error) }
        #expect(none == nil)
        #expect(error.map { String(cString: $0) } == "missing ): x(")
        pe_re2_free_error(error)
        // The error pointer may be left out.
        #expect(bad.withUnsafeBufferPointer { pe_re2_compile($0.baseAddress, $0.count - 1, nil) } == nil)

        // Lengths, not NUL terminators, bound the pattern and the text.
        let source = "ab"
        let pattern = source.withCString { pe_re2_compile($0, 1, &error) }
        #expect(pattern != nil && error == nil)
        #expect("a".withCString { pe_re2_full_match(pattern, $0, 1) } == 1)
        #expect("ab".withCString { pe_re2_full_match(pattern, $0, 2) } == 0)
        #expect("ab".withCString { pe_re2_full_match(pattern, $0, 1) } == 1)
        #expect(pe_re2_full_match(nil, "a", 1) == 0)
        pe_re2_free(pattern)
        pe_re2_free(nil)
        pe_re2_free_error(nil)
    }
}
