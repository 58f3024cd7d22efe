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
        sample(family.sampleName, suffix: nil, labels, extra, value)
    }

    /// Writes the buckets, sum and count of a histogram with cumulative counts per upper bound.
    public mutating func histogram(
        _ family: MetricFamily, _ labels: LabelSet, bounds: HistogramBounds, cumulativeCounts: [UInt64], sum: Double
    ) {
        precondition(cumulativeCounts.count == bounds.values.count + 1, "one count per bound plus +Inf")
        for (index, le) in bounds.leLabels.enumerated() {
            sample(family.sampleName, suffix: Self.bucketSuffix, labels, le, Double(cumulativeCounts[index]))
        }
        sample(family.sampleName, suffix: Self.sumSuffix, labels, .empty, sum)
        sample(family.sampleName, suffix: Self.countSuffix, labels, .empty, Double(cumulativeCounts.last!))
    }

    /// Ends the exposition (`# EOF` in OpenMetrics) and hands back the bytes.
    public consuming func finish() -> [UInt8] {
        if format == .openMetrics { buffer.append(contentsOf: Self.eof) }
        return buffer
    }

    private static let bucketSuffix = Array("_bucket".utf8)
    private static let sumSuffix = Array("_sum".utf8)
    private static let countSuffix = Array("_count".utf8)
    private static let eof = Array("# EOF\n".utf8)

    private mutating func sample(_ name: [UInt8], suffix: [UInt8]?, _ labels: LabelSet, _ extra: LabelSet, _ value: Double) {
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
