import Testing
@testable import Exposition

/// What OpenMetrics' metadata lines need beyond the text format's: units, and quotes escaped in HELP.
@Suite struct OpenMetricsHeaderTests {
    func header(_ family: MetricFamily, _ format: ExpositionFormat) -> String {
        var writer = ExpositionWriter(format: format)
        writer.family(family)
        return String(decoding: writer.finish(), as: UTF8.self)
    }

    @Test(arguments: [
        ("demo_wait_seconds", MetricType.gauge, "seconds"),
        ("demo_cpu_seconds_total", .counter, "seconds"),
        ("demo_rss_bytes", .gauge, "bytes"),
        ("demo_done_ratio", .gauge, "ratio"),
        ("demo_latency_seconds", .histogram, "seconds"),
        ("demo_items", .gauge, nil),
        ("demo_items_per_second", .gauge, nil),
        ("demo_seconds_count", .gauge, nil),
        ("demoseconds", .gauge, nil),
    ] as [(String, MetricType, String?)])
    func unitIsTheBaseUnitThatEndsTheFamilyName(name: String, type: MetricType, unit: String?) {
        let family = MetricFamily(name, type, help: "Demo.")
        #expect(family.unit == unit)
        let familyName = type == .counter ? String(name.dropLast("_total".count)) : name
        let unitLine = unit.map { "# UNIT \(familyName) \($0)\n" } ?? ""
        #expect(header(family, .openMetrics) == "# TYPE \(familyName) \(type.rawValue)\n\(unitLine)# HELP \(familyName) Demo.\n# EOF\n")
        #expect(!header(family, .prometheusText).contains("# UNIT"))
    }

    @Test func quotesInHelpAreEscapedInOpenMetricsOnly() {
        let family = MetricFamily("demo_ratio", .gauge, help: #"Share of "done" items \ all."#)
        #expect(header(family, .openMetrics).contains(#"# HELP demo_ratio Share of \"done\" items \\ all."# + "\n"))
        #expect(header(family, .prometheusText).contains(#"# HELP demo_ratio Share of "done" items \\ all."# + "\n"))
    }
}
