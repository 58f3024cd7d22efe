/// Writes metric families and samples in one exposition format. Its own lines go to a buffer that
/// callers may reuse across scrapes; sections rendered elsewhere are referenced, not copied, so a
/// large body reaches the HTTP server as a list of pieces (`finishPieces`) and is never joined.
public struct ExpositionWriter: ~Copyable {
    public let format: ExpositionFormat
    private let own: ByteBuffer
    private var pieces: [ExpositionPieces.Piece] = []
    /// Where the writer's own bytes not yet recorded as a piece begin.
    private var ownStart = 0

    public init(format: ExpositionFormat, reusing buffer: ByteBuffer = ByteBuffer()) {
        self.format = format
        buffer.removeAll()
        own = buffer
    }

    /// Writes the `# HELP` and `# TYPE` lines; call once per family, before its samples.
    public mutating func family(_ family: MetricFamily) {
        switch format {
        case .prometheusText: own.append(family.textHeader)
        case .openMetrics: own.append(family.openMetricsHeader)
        }
    }

    /// Writes one sample line: `name{labels,extra} value`.
    public mutating func sample(_ family: MetricFamily, _ labels: LabelSet, _ extra: LabelSet = .empty, _ value: Double) {
        SampleLines.sample(family, labels, extra, value, into: own)
    }

    /// Writes the buckets, sum and count of a histogram with cumulative counts per upper bound.
    public mutating func histogram(
        _ family: MetricFamily, _ labels: LabelSet, bounds: HistogramBounds, cumulativeCounts: [UInt64], sum: Double
    ) {
        SampleLines.histogram(family, labels, bounds: bounds, cumulativeCounts: cumulativeCounts, sum: sum, into: own)
    }

    /// Adds the samples of a section written earlier, by reference: the section must not change
    /// until the output is sent. Call right after the family's header.
    public mutating func append(_ section: SampleSection) {
        closeOwnPiece()
        if section.count > 0 { pieces.append(.init(buffer: section.buffer, start: 0, end: section.count)) }
    }

    /// Adds `buffer[start..<end]` by reference, for bytes rendered by an earlier scrape and kept
    /// (a job that did not change): the range must never be written again while anything may send it.
    public mutating func append(_ buffer: ByteBuffer, from start: Int, to end: Int) {
        precondition(0 <= start && start <= end && end <= buffer.count, "range outside the buffer")
        closeOwnPiece()
        if end > start { pieces.append(.init(buffer: buffer, start: start, end: end, isKept: true)) }
    }

    /// Adds the samples of a section that is never written again (kept from scrape to scrape while
    /// what it shows does not change), by reference.
    public mutating func appendKept(_ section: SampleSection) {
        append(section.buffer, from: 0, to: section.count)
    }

    /// Ends the exposition (`# EOF` in OpenMetrics) and hands back its pieces, in order.
    public consuming func finishPieces() -> ExpositionPieces {
        if format == .openMetrics { own.append(Self.eof) }
        closeOwnPiece()
        return ExpositionPieces(pieces: pieces)
    }

    /// Ends the exposition and hands back its bytes joined (a copy; for small outputs and tests).
    public consuming func finish() -> [UInt8] {
        finishPieces().joined
    }

    private mutating func closeOwnPiece() {
        if own.count > ownStart { pieces.append(.init(buffer: own, start: ownStart, end: own.count)) }
        ownStart = own.count
    }

    private static let eof = Array("# EOF\n".utf8)
}

/// A finished exposition as byte ranges of several buffers, to be sent in order. The ranges stay
/// valid while nobody writes to those buffers again; whoever reuses them must wait until the
/// pieces are sent.
public struct ExpositionPieces: Sendable {
    struct Piece: Sendable {
        let buffer: ByteBuffer
        let start: Int
        let end: Int
        /// Bytes never written again (see `ExpositionWriter.append(_:from:to:)`): the same buffer and
        /// range mean the same bytes, so whatever is derived from them (a compressed form) may be kept.
        var isKept = false
    }

    let pieces: [Piece]

    /// Total bytes.
    public var count: Int { pieces.reduce(0) { $0 + $1.end - $1.start } }

    /// The pieces as raw buffers, valid under the same terms as the pieces themselves.
    public var buffers: [UnsafeRawBufferPointer] {
        pieces.map { UnsafeRawBufferPointer(rebasing: $0.buffer.readable[$0.start..<$0.end]) }
    }

    /// Each piece's bytes and, for bytes never written again, the buffer that holds them and
    /// their range (a name for them that stays true while the buffer lives).
    public var parts: [(bytes: UnsafeRawBufferPointer, kept: (buffer: ByteBuffer, start: Int, end: Int)?)] {
        pieces.map { piece in
            (UnsafeRawBufferPointer(rebasing: piece.buffer.readable[piece.start..<piece.end]),
             piece.isKept ? (piece.buffer, piece.start, piece.end) : nil)
        }
    }

    /// All bytes in one array (a copy).
    public var joined: [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count)
        for buffer in buffers { bytes.append(contentsOf: buffer) }
        return bytes
    }
}

/// The samples of one family, written apart from its header so a collector can fill several
/// families in one pass over its data and join them in family order afterwards. A section emptied
/// with `removeAll` keeps its memory for the next scrape. A reference, like its buffer: one writer
/// at a time, and nobody writes while a finished exposition that references it is being sent
/// (the /metrics endpoint's buffer pool sees to both).
public final class SampleSection: Sendable {
    let buffer: ByteBuffer

    public init(capacity: Int = 4096) { buffer = ByteBuffer(capacity: capacity) }

    /// A copy of the samples written so far.
    public var bytes: [UInt8] { buffer.array }

    public var count: Int { buffer.count }

    /// The samples written so far, valid until the next write or `removeAll`.
    public var readable: UnsafeRawBufferPointer { buffer.readable }

    /// Bytes allocated.
    public var capacity: Int { buffer.capacity }

    public func removeAll() { buffer.removeAll() }

    public func sample(_ family: MetricFamily, _ labels: LabelSet, _ extra: LabelSet = .empty, _ value: Double) {
        SampleLines.sample(family, labels, extra, value, into: buffer)
    }

    public func histogram(
        _ family: MetricFamily, _ labels: LabelSet, bounds: HistogramBounds, cumulativeCounts: [UInt64], sum: Double
    ) {
        SampleLines.histogram(family, labels, bounds: bounds, cumulativeCounts: cumulativeCounts, sum: sum, into: buffer)
    }
}

/// Sample lines, the same in both formats: `name{labels,extra} value`.
enum SampleLines {
    static func sample(_ family: MetricFamily, _ labels: LabelSet, _ extra: LabelSet, _ value: Double, into buffer: ByteBuffer) {
        line(family.sampleName, suffix: empty, labels.bytes, extra.bytes, value, into: buffer)
    }

    static func histogram(
        _ family: MetricFamily, _ labels: LabelSet, bounds: HistogramBounds, cumulativeCounts: [UInt64], sum: Double,
        into buffer: ByteBuffer
    ) {
        precondition(cumulativeCounts.count == bounds.values.count + 1, "one count per bound plus +Inf")
        for (index, le) in bounds.leLabels.enumerated() {
            line(family.sampleName, suffix: bucketSuffix, labels.bytes, le.bytes, Double(cumulativeCounts[index]), into: buffer)
        }
        line(family.sampleName, suffix: sumSuffix, labels.bytes, empty, sum, into: buffer)
        line(family.sampleName, suffix: countSuffix, labels.bytes, empty, Double(cumulativeCounts.last!), into: buffer)
    }

    private static let empty: [UInt8] = []
    private static let bucketSuffix = Array("_bucket".utf8)
    private static let sumSuffix = Array("_sum".utf8)
    private static let countSuffix = Array("_count".utf8)

    /// Reserves room for the whole line once, then writes it through a pointer.
    private static func line(
        _ name: [UInt8], suffix: [UInt8], _ labels: [UInt8], _ extra: [UInt8], _ value: Double, into buffer: ByteBuffer
    ) {
        let maximum = name.count + suffix.count + labels.count + extra.count + 5 + SampleValue.maxBytes
        buffer.write(atMost: maximum) { start in
            var out = start
            copy(name, to: &out)
            copy(suffix, to: &out)
            if !labels.isEmpty || !extra.isEmpty {
                out.pointee = UInt8(ascii: "{"); out += 1
                copy(labels, to: &out)
                if !labels.isEmpty && !extra.isEmpty { out.pointee = UInt8(ascii: ","); out += 1 }
                copy(extra, to: &out)
                out.pointee = UInt8(ascii: "}"); out += 1
            }
            out.pointee = UInt8(ascii: " "); out += 1
            out += SampleValue.write(value, to: out)
            out.pointee = UInt8(ascii: "\n"); out += 1
            return out - start
        }
    }

    /// Names and label sets are a few dozen bytes: copied eight at a time inline, which beats a
    /// call to memmove per piece, four pieces a line.
    @inline(__always)
    private static func copy(_ bytes: [UInt8], to out: inout UnsafeMutablePointer<UInt8>) {
        let count = bytes.count
        guard count > 0 else { return }
        bytes.withUnsafeBufferPointer { source in
            let from = UnsafeRawPointer(source.baseAddress!)
            let to = UnsafeMutableRawPointer(out)
            var offset = 0
            while offset + 8 <= count {
                to.storeBytes(of: from.loadUnaligned(fromByteOffset: offset, as: UInt64.self), toByteOffset: offset, as: UInt64.self)
                offset += 8
            }
            while offset < count {
                to.storeBytes(of: from.load(fromByteOffset: offset, as: UInt8.self), toByteOffset: offset, as: UInt8.self)
                offset += 1
            }
        }
        out += count
    }
}
