import Clocks
import Events
/// Follows the files named by `--events.file` patterns and hands their complete lines to a handler.
///
/// A pattern is a path, a glob(3) pattern, or a folder (every `*.jsonl` below it, at any depth).
/// Each file is read from its start the first time, then polled for appends. It survives
/// rotation by rename (the old file is read to its end before its successor is read from 0),
/// truncation (reading restarts at 0), and a file that disappears and comes back. With an
/// offsets file, a restart continues each file after its last delivered line.
///
/// Handlers run on the tailer's own thread, one call at a time, in file order.
/// An offset is saved only after the handler call that delivered the line has returned.
public final class FileTailer: Sendable {
    /// The patterns as given, in order.
    public let patterns: [String]

    private let settings: Settings
    private let onLines: LineBatchHandler
    private let onOversizedLine: OversizedLineHandler
    private let onNotice: FileNoticeHandler
    private let lifecycle = SourceLifecycle()
    private let sharedStats = SharedStats(source: LineOrigin.fileSource)
    private let board: PatternBoard

    private struct Settings {
        var maxLineBytes: Int
        var pollInterval: Duration
        var rescanInterval: Duration
        var offsetsFile: String?
        var offsetsSaveInterval: Duration
        var resumeFromOffsets: Bool
        var resumeAt: [SourcePosition]
    }

    /// - Parameters:
    ///   - patterns: the `--events.file` values (not `-`: standard input is `StandardInputReader`).
    ///   - maxLineBytes: longer lines are skipped and reported to `onOversizedLine`.
    ///   - pollInterval: how often followed files are checked for new bytes.
    ///   - rescanInterval: how often globs and folders are expanded again to find new files.
    ///   - offsetsFile: where offsets are saved (JSON); nil to always start from the files' beginnings.
    ///   - offsetsSaveInterval: how often the offsets file is written when something moved; also on stop.
    ///   - resumeFromOffsets: whether the offsets file's points are read at start; false reads every file
    ///     from its start and only writes the file (the state those offsets belong to is gone).
    ///   - resumeAt: positions restored with the exporter's state: each file that is still the same
    ///     (identity, size and first bytes) continues there; others are read from their start. A file
    ///     renamed while the exporter was down is found by identity in its folder and read to its end.
    ///   - onNotice: what a person should read in the log (files recovered or lost at start).
    public init(
        patterns: [String],
        maxLineBytes: Int = 1 << 20,
        pollInterval: Duration = .milliseconds(250),
        rescanInterval: Duration = .seconds(1),
        offsetsFile: String? = nil,
        offsetsSaveInterval: Duration = .seconds(5),
        resumeFromOffsets: Bool = true,
        resumeAt: [SourcePosition] = [],
        onLines: @escaping LineBatchHandler,
        onOversizedLine: @escaping OversizedLineHandler,
        onNotice: @escaping FileNoticeHandler = { _ in }
    ) {
        precondition(maxLineBytes > 0, "maxLineBytes must be positive")
        self.patterns = patterns
        settings = Settings(
            maxLineBytes: maxLineBytes, pollInterval: pollInterval, rescanInterval: rescanInterval,
            offsetsFile: offsetsFile, offsetsSaveInterval: offsetsSaveInterval, resumeFromOffsets: resumeFromOffsets,
            resumeAt: resumeAt
        )
        self.onLines = onLines
        self.onOversizedLine = onOversizedLine
        self.onNotice = onNotice
        board = PatternBoard(patterns: patterns)
    }

    deinit {
        lifecycle.stopAndJoin()
    }

    /// Starts following on a new thread; later calls do nothing, and a stopped tailer stays stopped.
    public func start() {
        let settings = settings
        let patterns = patterns
        let onLines = onLines
        let onOversizedLine = onOversizedLine
        let onNotice = onNotice
        let stats = sharedStats
        let board = board
        let stop = lifecycle.stop
        lifecycle.start {
            let follower = FileFollower(
                patterns: patterns, maxLineBytes: settings.maxLineBytes, offsetsFile: settings.offsetsFile, resumeFromOffsets: settings.resumeFromOffsets, resumeAt: settings.resumeAt,
                onLines: onLines, onOversizedLine: onOversizedLine, stats: stats, board: board, stop: stop, onNotice: onNotice
            )
            Self.run(follower, settings: settings, stop: stop)
        }
    }

    /// Stops following, saves offsets, and returns once the thread has ended (at once if called from a handler).
    public func stop() {
        lifecycle.stopAndJoin()
    }

    /// Counters for the exporter's self-metrics.
    public var stats: EventSourceStats {
        sharedStats.snapshot
    }

    /// One status per pattern, in the order given.
    public var patternStatuses: [PatternStatus] {
        board.snapshot
    }

    /// True when every pattern is ready (has had a matching file open); see `PatternStatus`.
    public var isReady: Bool {
        board.snapshot.allSatisfy(\.isReady)
    }

    private static func run(_ follower: FileFollower, settings: Settings, stop: StopSignal) {
        var nextRescan = MonotonicClock.instant
        var nextSave = nextRescan.advanced(by: settings.offsetsSaveInterval)
        while !stop.isFired {
            let now = MonotonicClock.instant
            let rescan = now >= nextRescan
            if rescan { nextRescan = now.advanced(by: settings.rescanInterval) }
            let hasMore = follower.poll(now: now, rescan: rescan)
            if now >= nextSave {
                follower.saveOffsets()
                nextSave = now.advanced(by: settings.offsetsSaveInterval)
            }
            if !hasMore, stop.sleep(for: settings.pollInterval) { break }
        }
        follower.saveOffsets()
        follower.closeAll()
    }
}
