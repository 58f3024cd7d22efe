/// Writes metric families and samples in one exposition format into a byte buffer that callers reuse across scrapes.
public struct ExpositionWriter: ~Copyable {
    public let format: ExpositionFormat
    public private(set) var buffer: [UInt8]

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
        SampleLines.sample(family, labels, extra, value, into: &buffer)
    }

    /// Writes the buckets, sum and count of a histogram with cumulative counts per upper bound.
    public mutating func histogram(
        _ family: MetricFamily, _ labels: LabelSet, bounds: HistogramBounds, cumulativeCounts: [UInt64], sum: Double
    ) {
        SampleLines.histogram(family, labels, bounds: bounds, cumulativeCounts: cumulativeCounts, sum: sum, into: &buffer)
    }

    /// Appends the samples of a section written earlier; call right after the family's header.
    public mutating func append(_ section: SampleSection) {
        buffer.append(contentsOf: section.bytes)
    }

    /// Ends the exposition (`# EOF` in OpenMetrics) and hands back the bytes.
    public consuming func finish() -> [UInt8] {
        if format == .openMetrics { buffer.append(contentsOf: Self.eof) }
        return buffer
    }

    private static let eof = Array("# EOF\n".utf8)
}

/// The samples of one family, written apart from its header so a collector can fill several
/// families in one pass over its data and join them in family order afterwards.
public struct SampleSection: Sendable {
    public private(set) var bytes: [UInt8] = []

    public init() {}

    public mutating func sample(_ family: MetricFamily, _ labels: LabelSet, _ extra: LabelSet = .empty, _ value: Double) {
        SampleLines.sample(family, labels, extra, value, into: &bytes)
    }

    public mutating func histogram(
        _ family: MetricFamily, _ labels: LabelSet, bounds: HistogramBounds, cumulativeCounts: [UInt64], sum: Double
    ) {
        SampleLines.histogram(family, labels, bounds: bounds, cumulativeCounts: cumulativeCounts, sum: sum, into: &bytes)
    }
}

/// Sample lines, the same in both formats: `name{labels,extra} value`.
enum SampleLines {
    static func sample(_ family: MetricFamily, _ labels: LabelSet, _ extra: LabelSet, _ value: Double, into buffer: inout [UInt8]) {
        line(family.sampleName, suffix: nil, labels, extra, value, into: &buffer)
    }

    static func histogram(
        _ family: MetricFamily, _ labels: LabelSet, bounds: HistogramBounds, cumulativeCounts: [UInt64], sum: Double,
        into buffer: inout [UInt8]
    ) {
        precondition(cumulativeCounts.count == bounds.values.count + 1, "one count per bound plus +Inf")
        for (index, le) in bounds.leLabels.enumerated() {
            line(family.sampleName, suffix: bucketSuffix, labels, le, Double(cumulativeCounts[index]), into: &buffer)
        }
        line(family.sampleName, suffix: sumSuffix, labels, .empty, sum, into: &buffer)
        line(family.sampleName, suffix: countSuffix, labels, .empty, Double(cumulativeCounts.last!), into: &buffer)
    }

    private static let bucketSuffix = Array("_bucket".utf8)
    private static let sumSuffix = Array("_sum".utf8)
    private static let countSuffix = Array("_count".utf8)

    private static func line(_ name: [UInt8], suffix: [UInt8]?, _ labels: LabelSet, _ extra: LabelSet, _ value: Double, into buffer: inout [UInt8]) {
        buffer.append(contentsOf: name)
        if let suffix { buffer.append(contentsOf: suffix) }
        if !labels.isEmpty || !extra.isEmpty {
            buffer.append(UInt8(ascii: "{"))
            buffer.append(contentsOf: labels.bytes)
            if !labels.isEmpty && !extra.isEmpty { buffer.append(UInt8(ascii: ",")) }
            buffer.append(contentsOf: extra.bytes)
            buffer.append(UInt8(ascii: "}"))
        }
        buffer.append(UInt8(ascii: " "))
        SampleValue.append(value, to: &buffer)
        buffer.append(UInt8(ascii: "\n"))
    }
}
