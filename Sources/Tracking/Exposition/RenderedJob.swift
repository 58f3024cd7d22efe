import Exposition

/// The lines of one job that depend only on its state, not on when the scrape runs: everything
/// but rates, ETCs and success ratios. A scrape keeps them with the job and sends them again, by
/// reference, while the job has not changed (`changedAt`) and the same agents are kept, so a scrape
/// renders only what changed since the previous one plus the time-dependent lines.
///
/// Immutable once made: a response may still be sending these bytes when the job changes, so a
/// change makes a new one and never writes into this one.
final class RenderedJob: Sendable {
    /// The job's `changedAt` when rendered.
    let changedAt: UInt64
    /// The kept agents it holds lines for, in output order.
    let agents: [ObjectIdentifier]
    /// The lines of every family, one family after the other in store order.
    let buffer: ByteBuffer
    /// Where each family's lines end in `buffer`; time-dependent families have none.
    private let ends: [Int]

    /// Joins the job's lines from `scratch` (one section per family) into one buffer of exactly their size.
    init(changedAt: UInt64, agents: [ObjectIdentifier], joining scratch: [SampleSection]) {
        self.changedAt = changedAt
        self.agents = agents
        let buffer = ByteBuffer(capacity: scratch.reduce(0) { $0 + $1.count })
        var ends: [Int] = []
        ends.reserveCapacity(scratch.count)
        for section in scratch {
            buffer.append(section.readable)
            ends.append(buffer.count)
        }
        self.buffer = buffer
        self.ends = ends
    }

    func isCurrent(changedAt: UInt64, agents: [ObjectIdentifier]) -> Bool {
        self.changedAt == changedAt && self.agents == agents
    }

    /// The byte range of family `index`'s lines.
    func range(ofFamily index: Int) -> (start: Int, end: Int) {
        (index == 0 ? 0 : ends[index - 1], ends[index])
    }
}
