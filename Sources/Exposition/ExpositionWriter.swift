/// Writes metric families and samples in one exposition format into a byte buffer that callers reuse across scrapes.
public struct ExpositionWriter: ~Copyable {
    public let format: ExpositionFormat
    public private(set) var buffer: [UInt8]
    /// Each sample line is assembled here, then copied to `buffer` whole.
    private let line = ByteBuffer(capacity: 512)

    public init(format: ExpositionFormat, reusing buffer: consuming [UInt8] = []) {
        self.format = format
        buffer.removeAll(keepingCapacity: true)
        self.buffer = buffer
    }

    /// Writes the `# HELP` and `# TYPE` lines; call once per family, before its samples.
    public mutating func family(_ family: MetricFamily) {
        switch format {
        case .prometheusText: buffer.append(contentsOf: family.textHeader)
        case .openMetrics: buffer.append(contentsOf: family.openMetricsHeader)
        }
    }

    /// Writes one sample line: `name{labels,extra} value`.
    public mutating func sample(_ family: MetricFamily, _ labels: LabelSet, _ extra: LabelSet = .empty, _ value: Double) {
        line.removeAll()
        SampleLines.sample(family, labels, extra, value, into: line)
        buffer.append(contentsOf: line.bytes)
    }

    /// Writes the buckets, sum and count of a histogram with cumulative counts per upper bound.
    public mutating func histogram(
        _ family: MetricFamily, _ labels: LabelSet, bounds: HistogramBounds, cumulativeCounts: [UInt64], sum: Double
    ) {
        line.removeAll()
        SampleLines.histogram(family, labels, bounds: bounds, cumulativeCounts: cumulativeCounts, sum: sum, into: line)
        buffer.append(contentsOf: line.bytes)
    }

    /// Appends the samples of a section written earlier; call right after the family's header.
    public mutating func append(_ section: SampleSection) {
        buffer.append(contentsOf: section.buffer.bytes)
    }

    /// Makes room for `count` more bytes at once, so that a large body grows once instead of doubling.
    public mutating func reserve(_ count: Int) {
        buffer.reserveCapacity(buffer.count + count)
    }

    /// Ends the exposition (`# EOF` in OpenMetrics) and hands back the bytes.
    public consuming func finish() -> [UInt8] {
        if format == .openMetrics { buffer.append(contentsOf: Self.eof) }
        return buffer
    }

    private static let eof = Array("# EOF\n".utf8)
}

/// The samples of one family, written apart from its header so a collector can fill several
/// families in one pass over its data and join them in family order afterwards. A section emptied
/// with `removeAll` keeps its memory for the next scrape.
public struct SampleSection: Sendable {
    let buffer: ByteBuffer

    public init(capacity: Int = 4096) { buffer = ByteBuffer(capacity: capacity) }

    /// A copy of the samples written so far.
    public var bytes: [UInt8] { buffer.array }

    public var count: Int { buffer.count }

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

    @inline(__always)
    private static func copy(_ bytes: [UInt8], to out: inout UnsafeMutablePointer<UInt8>) {
        let count = bytes.count
        guard count > 0 else { return }
        bytes.withUnsafeBufferPointer { out.update(from: $0.baseAddress!, count: count) }
        out += count
    }
}
