import Events
import Glibc

/// The tailer's state and one poll cycle: scan, notice rotations, read what is new.
///
/// Owned by the tailer's thread, so it needs no locks; time comes in as `now`.
final class FileFollower {
    /// Tuning that is not worth a flag.
    struct Limits {
        /// A file with a big backlog yields to the others after this much in one cycle.
        var bytesPerFilePerCycle: Int64 = 16 << 20
        /// A file renamed out of the patterns or deleted is still read this long: writers may finish a line first.
        var orphanGrace: Duration = .seconds(5)
        /// A fully read file that has not grown this long gives back its descriptor.
        var idleClose: Duration = .seconds(30)
        /// Files let go during this run whose offsets are remembered in case they come back.
        var rememberedFiles = 1024
    }

    private let scanner: FilePatternScanner
    private let maxLineBytes: Int
    /// Bytes per read(2), and so the largest batch (plus a held partial line).
    private static let readSize = 1 << 20

    private let limits = Limits()
    private let offsetStore: OffsetStore?
    private let onLines: LineBatchHandler
    private let onOversizedLine: OversizedLineHandler
    private let stats: SharedStats
    private let board: PatternBoard
    private let stop: StopSignal
    private let buffer: UnsafeMutableRawBufferPointer

    private var candidates: [String: [Int]] = [:]
    private var candidateOrder: [String] = []
    private var hasScanned = false
    private var files: [FileIdentity: TailedFile] = [:]
    /// The file last seen at each candidate path, so a different one there counts as a rotation.
    private var identityAtPath: [String: FileIdentity] = [:]
    /// Saved points (sequence nil) and points of files let go during this run (numbered, oldest first out).
    private var resumePoints: [FileIdentity: (point: SourcePosition, sequence: Int?)] = [:]
    private var letGoOrder: [(identity: FileIdentity, sequence: Int)] = []
    private var nextSequence = 0
    private var everOpened: [Bool]
    private var openErrors: [Int32?]
    /// Per pattern index, what the latest scan could not read (a folder without permission).
    private var scanProblems: [Int: String] = [:]
    private var lastSaved: [FileIdentity: SourcePosition]?
    /// Files restored with the exporter's state, looked for once after the first scan: one that left
    /// its path while the exporter was down is still read to its end (see `recoverMovedWhileDown`).
    private var restoredToCheck: [FileIdentity]
    private let onNotice: FileNoticeHandler

    init(
        patterns: [String], maxLineBytes: Int, offsetsFile: String?, resumeFromOffsets: Bool = true,
        resumeAt: [SourcePosition] = [],
        onLines: @escaping LineBatchHandler, onOversizedLine: @escaping OversizedLineHandler,
        stats: SharedStats, board: PatternBoard, stop: StopSignal, onNotice: @escaping FileNoticeHandler = { _ in }
    ) {
        self.onNotice = onNotice
        restoredToCheck = resumeAt.map(\.identity)
        scanner = FilePatternScanner(patterns: patterns)
        self.maxLineBytes = maxLineBytes
        offsetStore = offsetsFile.map(OffsetStore.init(path:))
        self.onLines = onLines
        self.onOversizedLine = onOversizedLine
        self.stats = stats
        self.board = board
        self.stop = stop
        buffer = .allocate(byteCount: Self.readSize, alignment: 16)
        everOpened = Array(repeating: false, count: patterns.count)
        openErrors = Array(repeating: nil, count: patterns.count)
        for seed in resumeAt {
            resumePoints[seed.identity] = (seed, nil)
        }
        do {
            for (identity, point) in try (resumeFromOffsets ? offsetStore?.load() : nil) ?? [:] {
                resumePoints[identity] = (point, nil)
            }
        } catch {
            // Starting over from the files' beginnings beats not starting; the counter shows it.
            stats.update { $0.offsetFileErrors += 1 }
        }
    }

    deinit {
        buffer.deallocate()
    }

    /// Runs one cycle; true when a file still has unread bytes, so the caller should not sleep.
    func poll(now: ContinuousClock.Instant, rescan: Bool) -> Bool {
        if rescan || !hasScanned { scanPatterns() }
        let present = lookUpCandidates()
        if !restoredToCheck.isEmpty { recoverMovedWhileDown(present: present, now: now) }
        // Files that left their path are drained first, so a rotated file's last lines come
        // before the first lines of its successor.
        let orphansHaveMore = drainOrphans(present: present, now: now)
        defer { stats.update { $0.pollCycles += 1 } }
        let presentHaveMore = readPresentFiles(present, now: now)
        publish(present: present)
        return orphansHaveMore || presentHaveMore
    }

    /// Writes the offsets file if anything moved since the last save.
    func saveOffsets() {
        guard let offsetStore, hasScanned else { return }
        var points: [FileIdentity: SourcePosition] = [:]
        for (identity, file) in files {
            file.refreshFingerprint()
            points[identity] = file.position
        }
        // A saved file not opened yet (unreadable for now) keeps its point while its path is still matched.
        for (identity, entry) in resumePoints where entry.sequence == nil && candidates[entry.point.path] != nil {
            points[identity] = entry.point
        }
        guard points != lastSaved else { return }
        do {
            try offsetStore.save(points)
            lastSaved = points
        } catch {
            stats.update { $0.offsetFileErrors += 1 }
        }
    }

    /// Closes every file; the follower is done.
    func closeAll() {
        for file in files.values { file.close() }
        files.removeAll()
        stats.update { $0.followedFiles = 0 }
    }

    // MARK: - One cycle

    /// A file found at a candidate path in this cycle.
    private struct Sighting {
        var identity: FileIdentity
        var path: String
        var size: Int64
    }

    /// The files found this cycle, in path order, at most once each.
    private struct Present {
        var sightings: [Sighting] = []
        var identities: Set<FileIdentity> = []
    }

    private func scanPatterns() {
        let scan = scanner.scan()
        candidates = scan.candidates
        scanProblems = scan.problems
        candidateOrder = candidates.keys.sorted()
        // A vacated path is remembered while its old file is still followed, so the
        // successor counts as a rotation even if a scan ran in the gap.
        identityAtPath = identityAtPath.filter { candidates[$0.key] != nil || files[$0.value] != nil }
        hasScanned = true
    }

    /// Stats every candidate path: cheap enough each poll, and it notices a rotation within one.
    private func lookUpCandidates() -> Present {
        var present = Present()
        var rotations: UInt64 = 0
        for path in candidateOrder {
            guard let status = FileStatus(path: path), status.isRegularFile else { continue }
            if let previous = identityAtPath[path], previous != status.identity { rotations += 1 }
            identityAtPath[path] = status.identity
            // A second path to the same file (hard link, symlink) is not read twice.
            if present.identities.insert(status.identity).inserted {
                present.sightings.append(Sighting(identity: status.identity, path: path, size: status.size))
            }
        }
        if rotations > 0 { stats.update { $0.rotations += rotations } }
        return present
    }

    private func drainOrphans(present: Present, now: ContinuousClock.Instant) -> Bool {
        var hasMore = false
        let orphans = files.values.filter { !present.identities.contains($0.identity) }
        for file in orphans.sorted(by: { $0.path < $1.path }) {
            let since = file.orphanedSince ?? now
            file.orphanedSince = since
            if file.isOpen, read(file, now: now) { hasMore = true }
            if now - since >= limits.orphanGrace { letGo(file) }
        }
        return hasMore
    }

    private func readPresentFiles(_ present: Present, now: ContinuousClock.Instant) -> Bool {
        var hasMore = false
        for sighting in present.sightings {
            if let file = files[sighting.identity] {
                file.path = sighting.path
                file.orphanedSince = nil
                if !file.isOpen {
                    guard sighting.size != file.readOffset, reopen(file) else { continue }
                }
                if read(file, now: now) { hasMore = true }
                if file.readOffset == sighting.size, now - file.lastGrowth >= limits.idleClose { file.close() }
            } else if let file = open(identity: sighting.identity, path: sighting.path, now: now) {
                if read(file, now: now) { hasMore = true }
            }
        }
        return hasMore
    }

    // MARK: - Opening and letting go

    private func open(identity: FileIdentity, path: String, now: ContinuousClock.Instant) -> TailedFile? {
        let descriptor = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            let error = errno
            for index in candidates[path] ?? [] { openErrors[index] = error }
            return nil
        }
        // The path may have been rotated between stat and open; the next cycle sees the new file.
        guard let status = FileStatus(descriptor: descriptor), status.identity == identity else {
            Glibc.close(descriptor)
            return nil
        }
        let file = TailedFile(
            identity: identity, path: path, descriptor: descriptor, maxLineBytes: maxLineBytes, now: now
        )
        if let (point, sequence) = resumePoints.removeValue(forKey: identity) {
            if point.matches(descriptor: descriptor, size: status.size) {
                file.readOffset = point.offset
                file.fingerprint = point.fingerprint
            } else {
                stats.update { $0.truncations += 1 }
                if sequence == nil, point.offset > 0 {
                    // The restored state read this file up to `offset`; its content is not what it
                    // was (copytruncate while the exporter was down): the old tail is gone.
                    stats.update { $0.unrecoverableAtStart += 1 }
                    onNotice(FileNotice(kind: .unrecoverable, path: path, detail: "rewritten in place while the exporter was down (copytruncate?): the lines after offset \(point.offset) of its old content were not read; reading the new content from its start"))
                }
            }
        }
        files[identity] = file
        for index in candidates[path] ?? [] {
            everOpened[index] = true
            openErrors[index] = nil
        }
        stats.update { $0.filesOpened += 1 }
        return file
    }

    /// A file the restored state was reading that is at none of the matched paths now was renamed
    /// (rotated) or removed while the exporter was down. Looked for by identity in its folder: when
    /// found with the same first bytes, it is read from the kept offset to its end before the files
    /// now at the paths (as a file rotated while running is); otherwise its unread tail is reported.
    private func recoverMovedWhileDown(present: Present, now: ContinuousClock.Instant) {
        defer { restoredToCheck = [] }
        for identity in restoredToCheck where !present.identities.contains(identity) && files[identity] == nil {
            guard let (point, sequence) = resumePoints[identity], sequence == nil else { continue }
            let folder = point.path.contains("/") ? String(point.path[..<point.path.lastIndex(of: "/")!]) : "."
            if let found = Self.find(identity, in: folder.isEmpty ? "/" : folder),
               let status = FileStatus(path: found), status.size >= point.offset,
               let file = open(identity: identity, path: found, now: now) {
                if file.readOffset == point.offset {
                    file.orphanedSince = now
                    stats.update { $0.rotations += 1 }
                    onNotice(FileNotice(kind: .recovered, path: found, detail: "\(point.path) was renamed while the exporter was down; reading it from offset \(point.offset) to its end before the file now at that path"))
                    continue
                }
                // Another file reusing the inode (its first bytes differ): not ours.
                file.close()
                files[identity] = nil
            }
            resumePoints[identity] = nil
            stats.update { $0.unrecoverableAtStart += 1 }
            onNotice(FileNotice(kind: .unrecoverable, path: point.path, detail: "moved out of its folder or deleted while the exporter was down: any lines after offset \(point.offset) were not read"))
        }
    }

    /// The path of the entry of `folder` that is the file `identity`, if any (at most 100,000 looked at).
    private static func find(_ identity: FileIdentity, in folder: String) -> String? {
        guard let directory = opendir(folder) else { return nil }
        defer { closedir(directory) }
        var looked = 0
        while looked < 100_000, let entry = readdir(directory) {
            looked += 1
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard entry.pointee.d_ino == identity.inode, name != ".", name != ".." else { continue }
            let path = folder == "/" ? "/" + name : folder + "/" + name
            if let status = FileStatus(path: path), status.identity == identity, status.isRegularFile { return path }
        }
        return nil
    }

    private func reopen(_ file: TailedFile) -> Bool {
        let descriptor = Glibc.open(file.path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return false }
        guard FileStatus(descriptor: descriptor)?.identity == file.identity else {
            Glibc.close(descriptor)
            return false
        }
        file.reopen(descriptor)
        return true
    }

    private func letGo(_ file: TailedFile) {
        file.refreshFingerprint()
        if file.splitter.discardHeldLine() {
            stats.update { $0.partialLinesDropped += 1 }
        }
        file.close()
        files[file.identity] = nil
        resumePoints[file.identity] = (file.position, nextSequence)
        letGoOrder.append((file.identity, nextSequence))
        nextSequence += 1
        while letGoOrder.count > limits.rememberedFiles {
            let oldest = letGoOrder.removeFirst()
            if resumePoints[oldest.identity]?.sequence == oldest.sequence {
                resumePoints[oldest.identity] = nil
            }
        }
    }

    // MARK: - Reading

    /// Reads what is new in `file`; true when it stopped early with more to read.
    private func read(_ file: TailedFile, now: ContinuousClock.Instant) -> Bool {
        guard let status = FileStatus(descriptor: file.descriptor) else {
            readFailed(file)
            return false
        }
        if status.size < file.readOffset || (status.size != file.readOffset && !file.hasSameStart()) {
            restartAfterTruncation(file)
        }
        var total: Int64 = 0
        let origin = LineOrigin(source: LineOrigin.fileSource, path: file.path)
        while !stop.isFired {
            let count = pread(file.descriptor, buffer.baseAddress!, buffer.count, off_t(file.readOffset))
            if count < 0 {
                if errno == EINTR { continue }
                readFailed(file)
                return false
            }
            if count == 0 { break }
            file.readOffset += Int64(count)
            total += Int64(count)
            let chunk = UnsafeBufferPointer(start: buffer.baseAddress!.assumingMemoryBound(to: UInt8.self), count: count)
            let output = file.splitter.split(chunk)
            file.refreshFingerprint()
            var position = origin
            position.position = file.position
            deliver(output, bytes: count, origin: position)
            // A short read is the end of the file for now; no need to ask again.
            if count < buffer.count { break }
            if total >= limits.bytesPerFilePerCycle { return true }
        }
        if total > 0 {
            file.lastGrowth = now
            file.refreshFingerprint()
        }
        return false
    }

    private func restartAfterTruncation(_ file: TailedFile) {
        let dropped = file.splitter.discardHeldLine()
        file.readOffset = 0
        file.fingerprint = nil
        stats.update {
            $0.truncations += 1
            if dropped { $0.partialLinesDropped += 1 }
        }
    }

    private func readFailed(_ file: TailedFile) {
        file.close()
        stats.update { $0.readErrors += 1 }
    }

    private func deliver(_ output: LineSplitter.Output, bytes: Int, origin: LineOrigin) {
        output.deliver(from: origin, bytesRead: bytes, onLines: onLines, onOversizedLine: onOversizedLine, stats: stats)
    }

    // MARK: - Readiness

    private func publish(present: Present) {
        var matched = Array(repeating: 0, count: everOpened.count)
        var followed = matched
        for sighting in present.sightings {
            for index in candidates[sighting.path] ?? [] {
                matched[index] += 1
                if files[sighting.identity] != nil { followed[index] += 1 }
            }
        }
        let statuses = scanner.patterns.indices.map { index in
            var problem: String?
            var waiting = false
            if !everOpened[index] {
                if let error = openErrors[index], matched[index] > 0 {
                    problem = "cannot open a matching file: " + String(cString: strerror(error))
                } else if let scanProblem = scanProblems[index] {
                    problem = scanProblem
                } else {
                    problem = "no file matches yet"
                    waiting = matched[index] == 0
                }
            }
            return PatternStatus(
                pattern: scanner.patterns[index], matchedFiles: matched[index], followedFiles: followed[index],
                isReady: everOpened[index], problem: problem, isWaitingForAFile: waiting
            )
        }
        board.publish(statuses)
        let count = files.count
        stats.update { $0.followedFiles = count }
    }
}
