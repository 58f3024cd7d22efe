import Glibc
import Synchronization

/// Reads event lines from standard input (`--events.file -`), or any readable descriptor, on its own thread.
///
/// At end of input an unterminated last line is delivered with a `\n` added: the writer is
/// gone, so the line is as complete as it will get, and a cut-off event is better rejected
/// with a reason than dropped unseen. The descriptor is not closed; the caller owns it.
public final class StandardInputReader: Sendable {
    /// How the input ended.
    public enum End: Sendable, Equatable {
        /// The writer closed its end (read(2) returned 0).
        case endOfInput
        /// read(2) failed with this errno.
        case readError(errno: Int32)
    }

    /// Bytes per read(2); several reads that are ready at once are joined into one batch up to this size.
    private static let batchSize = 1 << 20

    private let descriptor: Int32
    private let maxLineBytes: Int
    private let onLines: LineBatchHandler
    private let onOversizedLine: OversizedLineHandler
    private let onEnd: @Sendable (End) -> Void
    private let lifecycle = SourceLifecycle()
    private let sharedStats = SharedStats(source: LineOrigin.standardInputSource)
    private let ended = EndFlag()

    /// - Parameters:
    ///   - descriptor: the descriptor to read; standard input by default.
    ///   - maxLineBytes: longer lines are skipped and reported to `onOversizedLine`.
    ///   - onEnd: called once on the reader's thread when the input ends; not called after `stop()`.
    public init(
        descriptor: Int32 = STDIN_FILENO,
        maxLineBytes: Int = 1 << 20,
        onLines: @escaping LineBatchHandler,
        onOversizedLine: @escaping OversizedLineHandler,
        onEnd: @escaping @Sendable (End) -> Void
    ) {
        precondition(maxLineBytes > 0, "maxLineBytes must be positive")
        self.descriptor = descriptor
        self.maxLineBytes = maxLineBytes
        self.onLines = onLines
        self.onOversizedLine = onOversizedLine
        self.onEnd = onEnd
    }

    deinit {
        lifecycle.stopAndJoin()
    }

    /// Starts reading on a new thread; later calls do nothing, and a stopped reader stays stopped.
    public func start() {
        let descriptor = descriptor
        let maxLineBytes = maxLineBytes
        let onLines = onLines
        let onOversizedLine = onOversizedLine
        let onEnd = onEnd
        let stats = sharedStats
        let stop = lifecycle.stop
        lifecycle.start { [ended] in
            var splitter = LineSplitter(maxLineBytes: maxLineBytes)
            let origin = LineOrigin(source: LineOrigin.standardInputSource)
            let deliver = { (output: LineSplitter.Output, bytes: Int) in
                output.deliver(from: origin, bytesRead: bytes, onLines: onLines, onOversizedLine: onOversizedLine, stats: stats)
            }
            let end = Self.readUntilEnd(descriptor: descriptor, stop: stop) { chunk in
                deliver(splitter.split(chunk), chunk.count)
            }
            guard let end else { return }
            deliver(splitter.finish(), 0)
            if case .readError = end { stats.update { $0.readErrors += 1 } }
            ended.set()
            onEnd(end)
        }
    }

    /// Stops reading and returns once the thread has ended (at once if called from a handler).
    public func stop() {
        lifecycle.stopAndJoin()
    }

    /// True once the input has ended (end of input or a read error).
    public var hasEnded: Bool {
        ended.isSet
    }

    /// Counters for the exporter's self-metrics.
    public var stats: EventSourceStats {
        sharedStats.snapshot
    }

    /// Reads batches into `body` until the input ends (returned) or `stop` fires (nil).
    private static func readUntilEnd(
        descriptor: Int32, stop: StopSignal, _ body: (UnsafeBufferPointer<UInt8>) -> Void
    ) -> End? {
        let buffer = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: batchSize)
        defer { buffer.deallocate() }
        while true {
            // poll(2) with the stop pipe, not a bare read(2): a quiet stdin must not keep stop() waiting.
            guard stop.wait(descriptor: descriptor, timeout: nil) == .readable else { return nil }
            var filled = 0
            var end: End?
            repeat {
                let count = read(descriptor, buffer.baseAddress! + filled, buffer.count - filled)
                if count > 0 {
                    filled += count
                } else if count == 0 {
                    end = .endOfInput
                } else if errno == EAGAIN || errno == EWOULDBLOCK {
                    break
                } else if errno != EINTR {
                    end = .readError(errno: errno)
                }
            } while end == nil && filled < buffer.count && stop.wait(descriptor: descriptor, timeout: .zero) == .readable
            if filled > 0 { body(UnsafeBufferPointer(rebasing: buffer[0..<filled])) }
            if let end { return end }
        }
    }
}

/// Set once by the reader's thread when the input ends; a class because `Atomic` cannot be captured by value.
private final class EndFlag: Sendable {
    private let value = Atomic<Bool>(false)

    var isSet: Bool {
        value.load(ordering: .acquiring)
    }

    func set() {
        value.store(true, ordering: .releasing)
    }
}
