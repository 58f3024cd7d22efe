import Synchronization

/// Counters one event source keeps about itself, for the exporter's self-metrics.
public struct EventSourceStats: Sendable, Equatable {
    /// `"file"` or `"stdin"`, as in `LineOrigin.source`.
    public var source: String
    /// Complete lines handed to the batch handler.
    public var linesDelivered: UInt64 = 0
    /// Calls of the batch handler.
    public var batchesDelivered: UInt64 = 0
    /// Bytes read, including skipped oversized lines.
    public var bytesRead: UInt64 = 0
    /// Lines skipped because they exceeded `maxLineBytes`.
    public var oversizedLines: UInt64 = 0
    /// Unterminated line fragments abandoned because their file was rotated away or truncated.
    public var partialLinesDropped: UInt64 = 0
    /// Times a new file took the place of a followed one at the same path.
    public var rotations: UInt64 = 0
    /// Times a followed file shrank or was rewritten, so reading restarted at its start.
    public var truncations: UInt64 = 0
    /// Files the restored state was reading whose unread lines could not be found at start (moved
    /// out of their folder, deleted, or rewritten in place while the exporter was down).
    public var unrecoverableAtStart: UInt64 = 0
    /// Files opened for the first time (or again after they were let go).
    public var filesOpened: UInt64 = 0
    /// Files followed right now.
    public var followedFiles: Int = 0
    /// Failed reads; the file is reopened on the next poll.
    public var readErrors: UInt64 = 0
    /// Failed loads or saves of the offsets file.
    public var offsetFileErrors: UInt64 = 0
    /// Completed polls of the followed files (tests wait on it to know the tailer looked again).
    public var pollCycles: UInt64 = 0

    public init(source: String) {
        self.source = source
    }
}

/// Stats written by a source's thread and read by scrapes.
final class SharedStats: Sendable {
    private let state: Mutex<EventSourceStats>

    init(source: String) {
        state = Mutex(EventSourceStats(source: source))
    }

    var snapshot: EventSourceStats {
        state.withLock { $0 }
    }

    func update(_ body: (inout EventSourceStats) -> Void) {
        state.withLock { body(&$0) }
    }
}

extension LineSplitter.Output {
    /// Hands the complete lines and the skipped over-long ones to their handlers and counts them,
    /// with the `bytesRead` this output came from; every source delivers this way.
    func deliver(
        from origin: LineOrigin, bytesRead: Int, onLines: LineBatchHandler, onOversizedLine: OversizedLineHandler,
        stats: SharedStats
    ) {
        if !lines.isEmpty { onLines(lines, origin) }
        for length in oversizedLengths { onOversizedLine(origin, length) }
        stats.update {
            $0.bytesRead += UInt64(bytesRead)
            $0.linesDelivered += UInt64(lineCount)
            $0.oversizedLines += UInt64(oversizedLengths.count)
            if !lines.isEmpty { $0.batchesDelivered += 1 }
        }
    }
}
