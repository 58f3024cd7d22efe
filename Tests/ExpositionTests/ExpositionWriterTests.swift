import TestSupport
import Testing
@testable import Exposition

@Suite struct ExpositionWriterTests {
    let counter = MetricFamily("demo_items_total", .counter, help: "Items.\nSecond line with \\.")
    let gauge = MetricFamily("demo_ratio", .gauge, help: "A ratio.")

    func render(_ format: ExpositionFormat, _ body: (inout ExpositionWriter) -> Void) -> String {
        var writer = ExpositionWriter(format: format)
        body(&writer)
        return String(decoding: writer.finish(), as: UTF8.self)
    }

    @Test func textFormatHeadersSamplesAndEscaping() {
        let labels = LabelSet([("job_name", "a\"b\\c\nd")])
        let out = render(.prometheusText) { w in
            w.family(counter)
            w.sample(counter, labels, LabelSet([("outcome", "completed")]), 3)
            w.family(gauge)
            w.sample(gauge, .empty, .empty, 0.25)
        }
        #expect(out == """
            # HELP demo_items_total Items.\\nSecond line with \\\\.
            # TYPE demo_items_total counter
            demo_items_total{job_name="a\\"b\\\\c\\nd",outcome="completed"} 3
            # HELP demo_ratio A ratio.
            # TYPE demo_ratio gauge
            demo_ratio 0.25

            """)
    }

    @Test func openMetricsNamesCountersWithoutTotalAndEndsWithEOF() {
        let out = render(.openMetrics) { w in
            w.family(counter)
            w.sample(counter, .empty, .empty, 1)
        }
        #expect(out == """
            # TYPE demo_items counter
            # HELP demo_items Items.\\nSecond line with \\\\.
            demo_items_total 1
            # EOF

            """)
    }

    @Test(arguments: [
        (0.0, "0"), (42, "42"), (-7, "-7"), (0.5, "0.5"), (1e-05, "1e-05"), (1_800_000_000.25, "1800000000.25"),
        (.nan, "NaN"), (.infinity, "+Inf"), (-.infinity, "-Inf"), (1e300, "1e+300"),
    ])
    func sampleValues(value: Double, expected: String) {
        var bytes: [UInt8] = []
        SampleValue.append(value, to: &bytes)
        #expect(String(decoding: bytes, as: UTF8.self) == expected)
    }

    /// The short path for values with up to three decimals writes what `description` writes, for
    /// millisecond timestamps, ratios and values around its edges; everything else goes the long way.
    @Test func valuesWithFewDecimalsMatchTheShortestForm() {
        var generator = SplitMix64(seed: 20_261_126)
        var values: [Double] = [0.001, 0.01, 0.1, 0.25, 0.999, 1.5, -2.75, 999_999_999_999.999, 1_000_000_000_000.5,
                                0.0009, 0.0015, 1_795_661_181.86, 1_795_661_181.123, 0.1 + 0.2, 1.0 / 3, 1e-4, 5e11 + 0.001]
        // Thousandths over the whole range of the short path, and a few orders of magnitude past it.
        for _ in 0 ..< 30_000 {
            values.append(Double(Int64.random(in: -999_999_999_999_999 ... 999_999_999_999_999, using: &generator)) / 1000)
            values.append(Double(Int64.random(in: -9_999_999 ... 9_999_999, using: &generator)) / 1000)
        }
        for value in values where value != value.rounded(.towardZero) {
            var bytes: [UInt8] = []
            SampleValue.append(value, to: &bytes)
            #expect(String(decoding: bytes, as: UTF8.self) == value.description, "\(value)")
        }
    }

    @Test func histogramBucketsAreCumulativeWithInf() {
        let family = MetricFamily("demo_seconds", .histogram, help: "Durations.")
        let bounds = HistogramBounds([0.5, 1])
        #expect(bounds.bucketIndex(for: 0.2) == 0)
        #expect(bounds.bucketIndex(for: 1) == 1)
        #expect(bounds.bucketIndex(for: 3) == 2)
        let out = render(.prometheusText) { w in
            w.family(family)
            w.histogram(family, LabelSet([("job_name", "j")]), bounds: bounds, cumulativeCounts: [1, 1, 2], sum: 3.2)
        }
        #expect(out.contains("demo_seconds_bucket{job_name=\"j\",le=\"0.5\"} 1\n"))
        #expect(out.contains("demo_seconds_bucket{job_name=\"j\",le=\"1.0\"} 1\n"))
        #expect(out.contains("demo_seconds_bucket{job_name=\"j\",le=\"+Inf\"} 2\n"))
        #expect(out.contains("demo_seconds_sum{job_name=\"j\"} 3.2\n"))
        #expect(out.contains("demo_seconds_count{job_name=\"j\"} 2\n"))
    }

    @Test func writerReusesItsBufferAndReferencesSections() {
        let own = ByteBuffer()
        var first = ExpositionWriter(format: .prometheusText, reusing: own)
        first.family(counter)
        _ = first.finish()
        let section = SampleSection()
        section.sample(gauge, .empty, .empty, 2)
        var second = ExpositionWriter(format: .openMetrics, reusing: own)
        second.family(gauge)
        second.append(section)
        second.family(counter)
        second.sample(counter, .empty, .empty, 1)
        let pieces = second.finishPieces()
        #expect(pieces.buffers.count == 3, "own bytes, the section by reference, own bytes again")
        #expect(String(decoding: pieces.joined, as: UTF8.self) == """
            # TYPE demo_ratio gauge
            # UNIT demo_ratio ratio
            # HELP demo_ratio A ratio.
            demo_ratio 2
            # TYPE demo_items counter
            # HELP demo_items Items.\\nSecond line with \\\\.
            demo_items_total 1
            # EOF

            """)
        #expect(pieces.count == pieces.joined.count)
    }

    @Test(arguments: [
        (nil, ExpositionFormat.prometheusText),
        ("text/plain;version=0.0.4;q=0.5,*/*;q=0.1", .prometheusText),
        ("application/openmetrics-text;version=1.0.0;charset=utf-8;q=0.5,text/plain;version=0.0.4;q=0.4", .openMetrics),
        ("application/openmetrics-text; version=0.0.1", .openMetrics),
        ("application/openmetrics-text;version=1.0.0;q=0", .prometheusText),
        ("application/openmetrics-text;version=2.0.0", .prometheusText),
    ] as [(String?, ExpositionFormat)])
    func contentNegotiation(accept: String?, expected: ExpositionFormat) {
        #expect(ExpositionFormat.negotiate(accept: accept) == expected)
    }
}
