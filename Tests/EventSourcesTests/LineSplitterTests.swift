@testable import EventSources
import Testing

@Suite("Line splitting")
struct LineSplitterTests {
    private func split(_ chunks: [String], maxLineBytes: Int = 10) -> (lines: [String], oversized: [Int], held: Int) {
        var splitter = LineSplitter(maxLineBytes: maxLineBytes)
        var lines: [String] = []
        var oversized: [Int] = []
        for chunk in chunks {
            let output = Array(chunk.utf8).withUnsafeBufferPointer { splitter.split($0) }
            let text = String(decoding: output.lines, as: UTF8.self)
            let cut = text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
            #expect(cut.count == output.lineCount)
            #expect(output.lines.isEmpty || output.lines.last == 0x0A)
            lines += cut
            oversized += output.oversizedLengths
        }
        return (lines, oversized, splitter.heldByteCount)
    }

    @Test("complete lines pass through; a trailing partial line is held", arguments: [
        (["a\nb\n"], ["a", "b"], 0),
        (["a\nbc"], ["a"], 2),
        (["a\nbc", "d\n"], ["a", "bcd"], 0),
        (["ab", "cd", "ef\n"], ["abcdef"], 0),
        (["\n\n"], ["", ""], 0),
        ([""], [], 0),
    ])
    func holdsPartialLines(chunks: [String], expected: [String], held: Int) {
        let result = split(chunks)
        #expect(result.lines == expected)
        #expect(result.held == held)
        #expect(result.oversized.isEmpty)
    }

    @Test("an over-long line is skipped and reported with its length while its neighbours pass", arguments: [
        (["ok\n0123456789X\nok2\n"], ["ok", "ok2"], [11]),
        (["ok\n01234", "56789XY", "Z\nok2\n"], ["ok", "ok2"], [13]),
        (["0123456789", "X\n"], [], [11]),
        (["0123456789\n"], ["0123456789"], []),
        (["012345678901234567890\n0123456789012\nok\n"], ["ok"], [21, 13]),
    ])
    func skipsOversizedLines(chunks: [String], expected: [String], oversized: [Int]) {
        let result = split(chunks)
        #expect(result.lines == expected)
        #expect(result.oversized == oversized)
        #expect(result.held == 0)
    }

    @Test("held bytes count the skipped part of an unfinished over-long line")
    func heldCountsSkippedBytes() {
        #expect(split(["ok\n012345678901"]).held == 12)
    }

    @Test("finishing delivers an unterminated last line with a newline added")
    func finishTerminatesLastLine() {
        var splitter = LineSplitter(maxLineBytes: 10)
        _ = Array("a\nlast".utf8).withUnsafeBufferPointer { splitter.split($0) }
        let output = splitter.finish()
        #expect(output.lines == Array("last\n".utf8))
        #expect(output.lineCount == 1)
        #expect(splitter.heldByteCount == 0)
    }

    @Test("finishing reports an unterminated over-long line")
    func finishReportsOversized() {
        var splitter = LineSplitter(maxLineBytes: 3)
        _ = Array("abcdef".utf8).withUnsafeBufferPointer { splitter.split($0) }
        let output = splitter.finish()
        #expect(output.lines.isEmpty)
        #expect(output.oversizedLengths == [6])
    }

    @Test("discarding the held line forgets it")
    func discardForgets() {
        var splitter = LineSplitter(maxLineBytes: 10)
        _ = Array("part".utf8).withUnsafeBufferPointer { splitter.split($0) }
        let hadHeldLine = splitter.discardHeldLine()
        let hadSecondHeldLine = splitter.discardHeldLine()
        #expect(hadHeldLine)
        #expect(!hadSecondHeldLine)
        let output = Array("new\n".utf8).withUnsafeBufferPointer { splitter.split($0) }
        #expect(output.lines == Array("new\n".utf8))
    }
}
