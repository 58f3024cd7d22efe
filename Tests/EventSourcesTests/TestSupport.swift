import EventSources
import Foundation
import Synchronization
import TestSupport
import Testing

/// A folder under the system temporary directory, removed when the test is done with it.
final class TemporaryFolder {
    let path: String

    init() throws {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("event-sources-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        path = url.path
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }

    func file(_ name: String) -> String {
        path + "/" + name
    }

    func makeFolder(_ name: String) throws -> String {
        let folder = file(name)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        return folder
    }
}

/// Appends text to a file, creating it; each call is one write(2), like a tracker writing a line.
func append(_ text: String, to path: String) {
    let descriptor = open(path, O_WRONLY | O_APPEND | O_CREAT, 0o644)
    precondition(descriptor >= 0, "cannot open \(path)")
    defer { close(descriptor) }
    let bytes = Array(text.utf8)
    let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
    precondition(written == bytes.count, "short write to \(path)")
}

/// Records what a source delivers, from the source's thread, for the test to read.
final class Collector: Sendable {
    private struct State {
        var text = ""
        var origins: [LineOrigin] = []
        var batchesEndInNewline = true
        var oversized: [(origin: LineOrigin, length: Int)] = []
        var ends: [StandardInputReader.End] = []
    }

    private let state = Mutex(State())

    var onLines: LineBatchHandler {
        { [self] bytes, origin in
            state.withLock {
                $0.text += String(decoding: bytes, as: UTF8.self)
                $0.origins.append(origin)
                if bytes.last != 0x0A { $0.batchesEndInNewline = false }
            }
        }
    }

    var onOversizedLine: OversizedLineHandler {
        { [self] origin, length in state.withLock { $0.oversized.append((origin, length)) } }
    }

    var onEnd: @Sendable (StandardInputReader.End) -> Void {
        { [self] end in state.withLock { $0.ends.append(end) } }
    }

    /// Every delivered line, without its newline, in delivery order.
    var lines: [String] {
        state.withLock { state in
            state.text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
        }
    }

    var origins: [LineOrigin] { state.withLock { $0.origins } }
    var batchesEndInNewline: Bool { state.withLock { $0.batchesEndInNewline } }
    var oversizedLengths: [Int] { state.withLock { $0.oversized.map(\.length) } }
    var ends: [StandardInputReader.End] { state.withLock { $0.ends } }
}

/// For sources without a poll counter (the SSE source): a short pause so a duplicate would show.
/// Checks after it can pass vacuously; prefer `settle(_ tailer:)` where a counter exists.
func settle() async {
    try? await Task.sleep(for: .milliseconds(150))
}

/// Waits until the tailer has polled its files three more times, so a duplicate or a line that
/// should not come would have shown: a check after it cannot pass just because nothing ran.
func settle(_ tailer: FileTailer) async {
    let start = tailer.stats.pollCycles
    let polled = await eventually(within: 10) { tailer.stats.pollCycles >= start + 3 }
    #expect(polled, "the tailer kept polling")
}

extension FileTailer {
    /// A tailer that polls every 10 ms, so tests wait little.
    static func fast(
        _ patterns: [String], collector: Collector, maxLineBytes: Int = 1 << 20, offsetsFile: String? = nil
    ) -> FileTailer {
        FileTailer(
            patterns: patterns, maxLineBytes: maxLineBytes, pollInterval: .milliseconds(10),
            rescanInterval: .milliseconds(20), offsetsFile: offsetsFile, offsetsSaveInterval: .milliseconds(50),
            onLines: collector.onLines, onOversizedLine: collector.onOversizedLine
        )
    }
}
