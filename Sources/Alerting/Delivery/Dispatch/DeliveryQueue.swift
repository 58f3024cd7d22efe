/// A receiver's bounded FIFO of notifications: the oldest make room for the newest, and a notification for an alert
/// already waiting in the same status takes that one's place instead of queueing twice.
///
/// The worker reads a batch from the head without removing it, so what arrives meanwhile queues behind it; after the
/// attempt it removes exactly the entries it delivered, unless they were dropped or replaced in the meantime.
struct DeliveryQueue {
    /// A queued notification; `sequence` orders entries, `version` tells a replaced one from the one delivered.
    struct Entry: Sendable {
        let sequence: UInt64
        var version: UInt32
        var notification: AlertNotification
        /// When it was first queued (seconds on the dispatcher's clock): a replacement keeps the earlier time.
        let enqueuedAt: Double
        let key: Key
    }

    /// Alert identity plus status: a resolve must not replace the firing notification it follows.
    struct Key: Hashable, Sendable {
        let fingerprint: String
        let status: AlertNotification.Status
    }

    let capacity: Int
    /// Entries by increasing sequence; `start` skips delivered ones until compaction.
    private var storage: [Entry] = []
    private var start = 0
    private var sequenceByKey: [Key: UInt64] = [:]
    private var nextSequence: UInt64 = 0

    init(capacity: Int) {
        precondition(capacity > 0, "a queue needs room for one notification")
        self.capacity = capacity
    }

    var count: Int { storage.count - start }
    var isEmpty: Bool { count == 0 }

    /// Appends or replaces; returns how many of the oldest entries were dropped to stay within capacity.
    mutating func append(_ notifications: [AlertNotification], at time: Double) -> Int {
        for notification in notifications {
            let key = Key(fingerprint: notification.fingerprint, status: notification.status)
            if let sequence = sequenceByKey[key], let index = position(of: sequence) {
                storage[index].notification = notification
                storage[index].version &+= 1
                continue
            }
            storage.append(Entry(sequence: nextSequence, version: 0, notification: notification, enqueuedAt: time, key: key))
            sequenceByKey[key] = nextSequence
            nextSequence += 1
        }
        let overflow = max(0, count - capacity)
        removeHead(overflow)
        return overflow
    }

    /// Up to `limit` entries from the head, left in place.
    func head(_ limit: Int) -> [Entry] {
        Array(storage[start..<min(storage.count, start + limit)])
    }

    /// Removes the entries of `batch` still queued in the version that was sent; returns them.
    mutating func remove(_ batch: [Entry]) -> [Entry] {
        var removed: [Entry] = []
        var kept: [Entry] = []
        // Dropping and replacing never reorder entries, so the batch's survivors are all within its span at the head.
        let span = start..<min(storage.count, start + batch.count)
        var sent: [UInt64: UInt32] = [:]
        for entry in batch { sent[entry.sequence] = entry.version }
        for entry in storage[span] {
            if sent[entry.sequence] == entry.version {
                removed.append(entry)
                sequenceByKey[entry.key] = nil
            } else {
                kept.append(entry)
            }
        }
        storage.replaceSubrange(span, with: kept)
        compact()
        return removed
    }

    /// Empties the queue; returns how many entries it held.
    mutating func removeAll() -> Int {
        let removed = count
        removeHead(removed)
        return removed
    }

    private mutating func removeHead(_ n: Int) {
        guard n > 0 else { return }
        for entry in storage[start..<start + n] { sequenceByKey[entry.key] = nil }
        start += n
        compact()
    }

    /// Moves the live entries down once the skipped prefix is as large as them, so removal stays amortised O(1).
    private mutating func compact() {
        if start == storage.count {
            storage.removeAll(keepingCapacity: true)
            start = 0
        } else if start >= storage.count - start {
            storage.removeFirst(start)
            start = 0
        }
    }

    /// Binary search: sequences increase from head to tail.
    private func position(of sequence: UInt64) -> Int? {
        var low = start
        var high = storage.count
        while low < high {
            let mid = (low + high) / 2
            if storage[mid].sequence < sequence { low = mid + 1 } else { high = mid }
        }
        return low < storage.count && storage[low].sequence == sequence ? low : nil
    }
}
