import Events
import Glibc

/// One followed file: its descriptor, how far it has been read, and the line being assembled.
final class TailedFile {
    let identity: FileIdentity
    /// The matched path it was last seen at; a file renamed out of the patterns keeps its old path.
    var path: String
    /// -1 while closed: a fully read file is closed after a quiet spell so thousands of old logs do not exhaust descriptors.
    private(set) var descriptor: Int32
    /// Bytes read so far, including the held partial line.
    var readOffset: Int64 = 0
    var splitter: LineSplitter
    var lastGrowth: ContinuousClock.Instant
    /// Set while its identity is at none of the matched paths (renamed away or deleted).
    var orphanedSince: ContinuousClock.Instant?
    /// Of the first bytes, refreshed as they arrive; detects rewrites and guards resumes.
    var fingerprint: Fingerprint?

    init(identity: FileIdentity, path: String, descriptor: Int32, maxLineBytes: Int, now: ContinuousClock.Instant) {
        self.identity = identity
        self.path = path
        self.descriptor = descriptor
        splitter = LineSplitter(maxLineBytes: maxLineBytes)
        lastGrowth = now
    }

    deinit {
        close()
    }

    var isOpen: Bool {
        descriptor >= 0
    }

    /// The end of the last complete line: where a restart must continue so no line is lost or repeated.
    var committedOffset: Int64 {
        readOffset - Int64(splitter.heldByteCount)
    }

    func reopen(_ descriptor: Int32) {
        close()
        self.descriptor = descriptor
    }

    func close() {
        if descriptor >= 0 {
            Glibc.close(descriptor)
            descriptor = -1
        }
    }

    /// Whether the first bytes still hash as before; false means the file was rewritten in place.
    func hasSameStart() -> Bool {
        guard isOpen, let fingerprint, fingerprint.length > 0 else { return true }
        return Fingerprint.of(descriptor: descriptor, limit: Int64(fingerprint.length)) == fingerprint
    }

    /// Extends the fingerprint while the file is shorter than `Fingerprint.maxLength`.
    func refreshFingerprint() {
        let wanted = min(committedOffset, Int64(Fingerprint.maxLength))
        guard isOpen, fingerprint.map({ Int64($0.length) < wanted }) ?? true else { return }
        fingerprint = Fingerprint.of(descriptor: descriptor, limit: wanted)
    }

    var position: SourcePosition {
        .file(identity, path: path, offset: committedOffset, fingerprint: fingerprint)
    }
}
