import EventSources
import Foundation
import TestSupport
import Testing

@Suite("Standard input reader", .timeLimit(.minutes(1)))
struct StandardInputReaderTests {
    /// A pipe(2); the test writes to `writeEnd` and the reader reads `readEnd`.
    private final class Pipe {
        let readEnd: Int32
        private(set) var writeEnd: Int32

        init() {
            var ends: [Int32] = [-1, -1]
            precondition(pipe(&ends) == 0, "pipe failed")
            readEnd = ends[0]
            writeEnd = ends[1]
        }

        deinit {
            close(readEnd)
            closeWriteEnd()
        }

        func send(_ text: String) {
            let bytes = Array(text.utf8)
            precondition(write(writeEnd, bytes, bytes.count) == bytes.count, "short write")
        }

        func closeWriteEnd() {
            if writeEnd >= 0 { close(writeEnd) }
            writeEnd = -1
        }
    }

    private func reader(_ pipe: Pipe, _ collector: Collector, maxLineBytes: Int = 1 << 20) -> StandardInputReader {
        StandardInputReader(
            descriptor: pipe.readEnd, maxLineBytes: maxLineBytes,
            onLines: collector.onLines, onOversizedLine: collector.onOversizedLine, onEnd: collector.onEnd
        )
    }

    @Test("delivers lines from a pipe and ends at end of input, terminating the last line")
    func deliversAndEnds() async throws {
        let pipe = Pipe()
        let collector = Collector()
        let reader = reader(pipe, collector)
        reader.start()
        defer { reader.stop() }

        pipe.send("one\ntw")
        #expect(await eventually { collector.lines == ["one"] })
        pipe.send("o\nunterminated")
        #expect(await eventually { collector.lines == ["one", "two"] })
        #expect(!reader.hasEnded)
        pipe.closeWriteEnd()

        #expect(await eventually { collector.ends == [.endOfInput] })
        #expect(reader.hasEnded)
        #expect(collector.lines == ["one", "two", "unterminated"])
        #expect(collector.origins.allSatisfy { $0 == LineOrigin(source: "stdin") })
        #expect(reader.stats.linesDelivered == 3)
        #expect(reader.stats.bytesRead == 20)
    }

    @Test("an oversized line is reported and skipped")
    func skipsOversizedLine() async throws {
        let pipe = Pipe()
        let collector = Collector()
        let reader = reader(pipe, collector, maxLineBytes: 8)
        reader.start()
        defer { reader.stop() }

        pipe.send("ok\n" + String(repeating: "y", count: 20) + "\nok too\n")
        pipe.closeWriteEnd()
        #expect(await eventually { collector.ends == [.endOfInput] })
        #expect(collector.lines == ["ok", "ok too"])
        #expect(collector.oversizedLengths == [20])
    }

    @Test("stop returns while the input is open and silent, and end is not reported")
    func stopWhileBlocked() async throws {
        let pipe = Pipe()
        let collector = Collector()
        let reader = reader(pipe, collector)
        reader.start()
        try await Task.sleep(for: .milliseconds(50))
        reader.stop()
        reader.stop()
        #expect(collector.ends.isEmpty)
        #expect(!reader.hasEnded)
    }
}
