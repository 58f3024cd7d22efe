/// Why a job's items fail: its last failures, its dead-lettered items with their last error, and
/// how often each kind of error came. Bounded whatever the input: a fixed number of entries, each
/// error cut to `errorBytes`, at most `maxReasons` distinct reasons counted (the rest as `other`).
/// Error strings are kept as sent (cut, never interpreted); every output escapes them.
struct FailureLog {
    /// One `item_failed`.
    struct Failure: Equatable {
        /// Numbers the job's failures and dead letters from 1, for paging.
        var sequence: UInt64
        var time: Double
        var agent: String?
        var item: String?
        var error: String?
        var retryable: Bool?
    }

    /// One `item_dead_lettered`: the item given up, and the last error it failed with.
    struct DeadLetter: Equatable {
        var sequence: UInt64
        var time: Double
        var agent: String?
        var item: String?
        var error: String?
    }

    static let keptFailures = 100
    static let keptDeadLetters = 1_000
    /// Bytes of an error string kept (cut on a character boundary).
    static let errorBytes = 512
    /// Bytes of a reason: the error normalised (`FailureReason.of`).
    static let reasonBytes = 80
    /// Distinct reasons counted; failures of further reasons count as `other`.
    static let maxReasons = FailureLogLimits.maxReasons

    /// Oldest first.
    private(set) var failures: [Failure] = []
    private(set) var deadLetters: [DeadLetter] = []
    private(set) var lastSequence: UInt64 = 0
    /// Failures by reason, with the order reasons first came (metrics give the first few their own series).
    private(set) var reasonCounts: [String: UInt64] = [:]
    private(set) var reasonOrder: [String] = []
    /// Failures whose reason came after `maxReasons` others.
    private(set) var otherCount: UInt64 = 0

    mutating func recordFailure(time: Double, agent: String?, item: String?, error: String?, retryable: Bool?) {
        lastSequence &+= 1
        let error = error.map(Self.cut)
        failures.append(Failure(sequence: lastSequence, time: time, agent: agent, item: item, error: error, retryable: retryable))
        if failures.count > Self.keptFailures { failures.removeFirst(failures.count - Self.keptFailures) }
        let reason = FailureReason.of(error)
        if let count = reasonCounts[reason] {
            reasonCounts[reason] = count &+ 1
        } else if reasonOrder.count < Self.maxReasons {
            reasonCounts[reason] = 1
            reasonOrder.append(reason)
        } else {
            otherCount &+= 1
        }
    }

    /// `error`: the dead-letter event's own; without one, the item's last failure kept here.
    mutating func recordDeadLetter(time: Double, agent: String?, item: String?, error: String?) {
        lastSequence &+= 1
        let lastError = error.map(Self.cut) ?? item.flatMap { item in failures.last { $0.item == item }?.error }
        deadLetters.append(DeadLetter(sequence: lastSequence, time: time, agent: agent, item: item, error: lastError))
        if deadLetters.count > Self.keptDeadLetters { deadLetters.removeFirst(deadLetters.count - Self.keptDeadLetters) }
    }

    /// Reasons by count, most common first (ties by first arrival), with `other` last when any.
    var reasons: [(reason: String, count: UInt64)] {
        let ranked = reasonOrder.enumerated().sorted { a, b in
            let ca = reasonCounts[a.element] ?? 0, cb = reasonCounts[b.element] ?? 0
            return ca != cb ? ca > cb : a.offset < b.offset
        }.map { (reason: $0.element, count: reasonCounts[$0.element] ?? 0) }
        return otherCount > 0 ? ranked + [(FailureReason.other, otherCount)] : ranked
    }

    /// Counts for the metric: the first `limit` reasons to arrive with their own series, the rest as
    /// `other`. First to arrive, not most common: a counter cannot move from one label to another.
    func reasonSeries(limit: Int) -> [(reason: String, count: UInt64)] {
        let own = reasonOrder.prefix(max(0, limit))
        var rest = otherCount
        for reason in reasonOrder.dropFirst(own.count) { rest &+= reasonCounts[reason] ?? 0 }
        let series = own.map { (reason: $0, count: reasonCounts[$0] ?? 0) }
        return rest > 0 || reasonOrder.count > own.count ? series + [(FailureReason.other, rest)] : series
    }

    /// An error as kept: at most `errorBytes`, `…` marking a cut.
    static func cut(_ text: String) -> String {
        text.utf8.count > errorBytes ? cut(text, to: errorBytes) + "…" : text
    }

    /// Restored from a snapshot: entries as they were, reasons re-counted in their order.
    init(failures: [Failure] = [], deadLetters: [DeadLetter] = [], lastSequence: UInt64 = 0, reasons: [(String, UInt64)] = [], other: UInt64 = 0) {
        self.failures = Array(failures.suffix(Self.keptFailures))
        self.deadLetters = Array(deadLetters.suffix(Self.keptDeadLetters))
        self.lastSequence = lastSequence
        for (reason, count) in reasons.prefix(Self.maxReasons) where reasonCounts[reason] == nil {
            reasonCounts[reason] = count
            reasonOrder.append(reason)
        }
        otherCount = other
    }
}

extension FailureLog {
    func encode(into w: inout BinaryWriter) {
        w.u64(lastSequence)
        w.array(failures) { w, f in
            w.u64(f.sequence); w.double(f.time); w.optional(f.agent) { $0.string($1) }; w.optional(f.item) { $0.string($1) }
            w.optional(f.error) { $0.string($1) }; w.optional(f.retryable) { $0.u8($1 ? 1 : 0) }
        }
        w.array(deadLetters) { w, d in
            w.u64(d.sequence); w.double(d.time); w.optional(d.agent) { $0.string($1) }; w.optional(d.item) { $0.string($1) }
            w.optional(d.error) { $0.string($1) }
        }
        w.array(reasonOrder) { w, reason in w.string(reason); w.u64(reasonCounts[reason] ?? 0) }
        w.u64(otherCount)
    }

    /// A snapshot is input too: past the kept sizes, what is read is cut to them.
    static func decode(from r: inout BinaryReader) throws(BinaryReadError) -> FailureLog {
        func string(_ r: inout BinaryReader) throws(BinaryReadError) -> String? {
            try r.optional { (r: inout BinaryReader) throws(BinaryReadError) in try r.string() }
        }
        let lastSequence = try r.u64()
        let failures = try r.array(minimumSize: 20) { (r: inout BinaryReader) throws(BinaryReadError) -> Failure in
            Failure(sequence: try r.u64(), time: try r.double(), agent: try string(&r), item: try string(&r), error: try string(&r),
                    retryable: try r.optional { (r: inout BinaryReader) throws(BinaryReadError) in try r.u8() != 0 })
        }
        let deadLetters = try r.array(minimumSize: 19) { (r: inout BinaryReader) throws(BinaryReadError) -> DeadLetter in
            DeadLetter(sequence: try r.u64(), time: try r.double(), agent: try string(&r), item: try string(&r), error: try string(&r))
        }
        let reasons = try r.array(minimumSize: 12) { (r: inout BinaryReader) throws(BinaryReadError) in (try r.string(), try r.u64()) }
        return FailureLog(failures: failures, deadLetters: deadLetters, lastSequence: lastSequence, reasons: reasons, other: try r.u64())
    }
}

/// An error string as a reason to count failures by: its first line, digits and hex ids folded to
/// `N` (so `timeout after 31s on shard 7` and `... 12s on shard 3` count together), spaces collapsed,
/// cut to `FailureLog.reasonBytes`.
public enum FailureReason {
    public static let other = "other"
    public static let none = "(no error given)"

    public static func of(_ error: String?) -> String {
        guard let error else { return none }
        var out = ""
        var lastWasSpace = true
        var inNumber = false
        var startedWithZero = false
        var numberLength = 0
        for scalar in error.unicodeScalars {
            if scalar == "\n" || scalar == "\r" { break }
            if scalar.properties.isWhitespace || scalar.value < 0x20 || scalar.value == 0x7f {
                if !lastWasSpace { out.unicodeScalars.append(" ") }
                lastWasSpace = true
                inNumber = false
                continue
            }
            // A digit starts a number; hex digits glued to it stay in it (3e9, 7f3a), and so does the x
            // of a 0x. Other letters end it: `31s` is `Ns`.
            let isDigit = ("0"..."9").contains(scalar)
            let isHexLetter = ("a"..."f").contains(scalar) || ("A"..."F").contains(scalar)
            let isHexPrefix = (scalar == "x" || scalar == "X") && numberLength == 1 && out.unicodeScalars.last == "N" && startedWithZero
            if isDigit || (inNumber && (isHexLetter || isHexPrefix)) {
                if !inNumber {
                    out.unicodeScalars.append("N")
                    startedWithZero = scalar == "0"
                    numberLength = 0
                }
                numberLength += 1
                inNumber = true
            } else {
                out.unicodeScalars.append(scalar)
                inNumber = false
            }
            lastWasSpace = false
            if out.utf8.count >= FailureLog.reasonBytes { break }
        }
        let trimmed = out.trimmingTrailingSpaces()
        return trimmed.isEmpty ? none : FailureLog.cut(trimmed, to: FailureLog.reasonBytes)
    }
}

extension FailureLog {
    /// The longest prefix of `text` of at most `bytes` UTF-8 bytes that ends on a whole scalar.
    static func cut(_ text: String, to bytes: Int) -> String {
        guard text.utf8.count > bytes else { return text }
        let scalars = text.unicodeScalars
        var used = 0
        var end = scalars.startIndex
        while end < scalars.endIndex {
            let width = UTF8.width(scalars[end])
            if used + width > bytes { break }
            used += width
            end = scalars.index(after: end)
        }
        return String(scalars[..<end])
    }
}

extension String {
    fileprivate func trimmingTrailingSpaces() -> String {
        var text = self
        while text.last == " " { text.removeLast() }
        return text
    }
}

/// The bounds of a job's failure log that flags are checked against.
public enum FailureLogLimits {
    /// Distinct failure reasons counted per job; `--jobs.failure-reasons` can be at most this.
    public static let maxReasons = 64
}
