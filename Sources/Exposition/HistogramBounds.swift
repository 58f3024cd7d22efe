/// The upper bounds of a histogram's buckets, with their `le` labels rendered once.
public struct HistogramBounds: Sendable {
    public let values: [Double]
    let leLabels: [LabelSet]

    /// `values` must be strictly increasing and finite; the `+Inf` bucket is implied.
    public init(_ values: [Double]) {
        precondition(zip(values, values.dropFirst()).allSatisfy { $0 < $1 }, "bounds must increase")
        self.values = values
        var labels = values.map { bound -> LabelSet in
            var rendered: [UInt8] = []
            SampleValue.append(bound, to: &rendered)
            // OpenMetrics wants `le` as a float ("1.0"); Prometheus's parsers accept it in both formats.
            if !rendered.contains(UInt8(ascii: ".")) && !rendered.contains(UInt8(ascii: "e")) {
                rendered.append(contentsOf: Array(".0".utf8))
            }
            return LabelSet([("le", String(decoding: rendered, as: UTF8.self))])
        }
        labels.append(LabelSet([("le", "+Inf")]))
        leLabels = labels
    }

    /// Index of the first bucket whose bound is >= value (values.count for the +Inf bucket).
    public func bucketIndex(for value: Double) -> Int {
        var low = 0
        var high = values.count
        while low < high {
            let mid = (low + high) / 2
            if values[mid] >= value { high = mid } else { low = mid + 1 }
        }
        return low
    }
}
