/// One page of a job's failures for `/api/v1/jobs/{job}/failures`, the page, `top` and `export`:
/// the newest failed attempts and dead-lettered items first, and the reasons by count.
public struct JobFailures: Sendable, Equatable, Codable {
    public struct Failure: Sendable, Equatable, Codable {
        public var time: Double
        public var agent: String?
        public var item: String?
        public var error: String?
        public var retryable: Bool?
        enum CodingKeys: String, CodingKey { case agent, item, error, retryable; case time = "timestamp" }
    }

    public struct DeadLetter: Sendable, Equatable, Codable {
        public var time: Double
        public var agent: String?
        public var item: String?
        /// The dead-letter event's error, else the item's last failure's.
        public var error: String?
        enum CodingKeys: String, CodingKey { case agent, item, error; case time = "timestamp" }
    }

    public struct Reason: Sendable, Equatable, Codable {
        public var reason: String
        public var count: UInt64
    }

    public var job: String
    /// Failed attempts and dead-lettered items of the job since it was first seen (not only those kept).
    public var failedTotal: UInt64
    public var deadLetteredTotal: UInt64
    /// Newest first.
    public var failures: [Failure]
    public var deadLettered: [DeadLetter]
    /// Most common first; `other` (reasons past the 64 counted) last.
    public var reasons: [Reason]
    /// Pass as `cursor` for the next page; nil on the last.
    public var nextCursor: String?

    enum CodingKeys: String, CodingKey {
        case job, failures, reasons
        case failedTotal = "failed_total"
        case deadLetteredTotal = "dead_lettered_total"
        case deadLettered = "dead_lettered"
        case nextCursor = "next_cursor"
    }

    /// Where a page starts: before these sequence numbers of the job's failures and dead letters.
    /// Written as an opaque token (`FailureCursor.text`); only what `nextCursor` gave is accepted.
    public struct Cursor: Sendable, Equatable {
        var failuresBefore: UInt64
        var deadLettersBefore: UInt64

        public var text: String { String(failuresBefore, radix: 36) + "." + String(deadLettersBefore, radix: 36) }

        /// nil for anything `text` does not make.
        public init?(_ text: String) {
            let parts = text.split(separator: ".", omittingEmptySubsequences: false)
            guard text.utf8.count <= 32, parts.count == 2,
                  parts.allSatisfy({ !$0.isEmpty && $0.unicodeScalars.allSatisfy { ("0"..."9").contains($0) || ("a"..."z").contains($0) } }),
                  let failures = UInt64(parts[0], radix: 36), let deadLetters = UInt64(parts[1], radix: 36)
            else { return nil }
            failuresBefore = failures
            deadLettersBefore = deadLetters
        }

        init(failuresBefore: UInt64, deadLettersBefore: UInt64) {
            self.failuresBefore = failuresBefore
            self.deadLettersBefore = deadLettersBefore
        }
    }

    public static let defaultLimit = 50
    public static let maximumLimit = 500

    /// Every page from `page(cursor)` joined into one (at most `maxPages`, a bound against a source
    /// that never ends); nil when the first page is (an unknown job).
    public static func all<Failure: Error>(maxPages: Int = 100, _ page: (Cursor?) throws(Failure) -> JobFailures?) throws(Failure) -> JobFailures? {
        guard var joined = try page(nil) else { return nil }
        var next = joined.nextCursor.flatMap(Cursor.init)
        var pages = 1
        while let cursor = next, pages < maxPages, let more = try page(cursor) {
            joined.failures += more.failures
            joined.deadLettered += more.deadLettered
            next = more.nextCursor.flatMap(Cursor.init)
            pages += 1
        }
        joined.nextCursor = next?.text
        return joined
    }
}

extension ProgressStore {
    /// A page of the job's failures: at most `limit` failed attempts and `limit` dead-lettered items
    /// (each newest first), starting at `cursor`; nil when the job is unknown.
    public func failures(job id: String, limit: Int = JobFailures.defaultLimit, cursor: JobFailures.Cursor? = nil) -> JobFailures? {
        let limit = min(max(1, limit), JobFailures.maximumLimit)
        return state.withLock { state -> JobFailures? in
            guard let job = state.jobs[id] else { return nil }
            return Self.failures(of: job, limit: limit, cursor: cursor)
        }
    }

    static func failures(of job: JobRecord, limit: Int, cursor: JobFailures.Cursor?) -> JobFailures {
        let log = job.failureLog
        let failuresBefore = cursor?.failuresBefore ?? .max
        let deadBefore = cursor?.deadLettersBefore ?? .max
        let failures = log.failures.reversed().lazy.filter { $0.sequence < failuresBefore }
        let dead = log.deadLetters.reversed().lazy.filter { $0.sequence < deadBefore }
        let failurePage = Array(failures.prefix(limit))
        let deadPage = Array(dead.prefix(limit))
        let more = failures.dropFirst(limit).first != nil || dead.dropFirst(limit).first != nil
        // A list that ended on this page stays ended: its part of the cursor goes below every entry.
        let next = more ? JobFailures.Cursor(
            failuresBefore: failurePage.count == limit ? failurePage.last!.sequence : 0,
            deadLettersBefore: deadPage.count == limit ? deadPage.last!.sequence : 0) : nil
        return JobFailures(
            job: job.id, failedTotal: job.failed, deadLetteredTotal: job.deadLettered,
            failures: failurePage.map { .init(time: $0.time, agent: $0.agent, item: $0.item, error: $0.error, retryable: $0.retryable) },
            deadLettered: deadPage.map { .init(time: $0.time, agent: $0.agent, item: $0.item, error: $0.error) },
            reasons: log.reasons.map { .init(reason: $0.reason, count: $0.count) },
            nextCursor: next?.text)
    }
}
