import Foundation
import Testing

/// The golden expositions read by the Python client's parsers (Debian's python3-prometheus-client), one per
/// format, through scripts/check-exposition.py: they parse, every sample lands in its declared family, and
/// the values that are easy to get wrong (counter names, buckets, units, escaped labels) come back as written.
@Suite struct ParserCompatibilityTests {
    struct Family: Decodable {
        let name: String
        let type: String
        let unit: String
        let samples: [Sample]
    }

    struct Sample: Decodable {
        let name: String
        let labels: [String: String]
        let value: String
    }

    static let repository = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Runs the check script on `exposition`: its exit status, its JSON and its complaint.
    static func check(_ exposition: String, as format: String) throws -> (status: Int32, json: Data, complaint: String) {
        let python = "/usr/bin/python3"
        try #require(FileManager.default.isExecutableFile(atPath: python), "python3 is missing: run scripts/install-deps.sh")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [repository.appendingPathComponent("scripts/check-exposition.py").path, format]
        let input = Pipe()
        let output = Pipe()
        let errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        input.fileHandleForWriting.write(Data(exposition.utf8))
        try input.fileHandleForWriting.close()
        let json = output.fileHandleForReading.readDataToEndOfFile()
        let complaint = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, json, complaint)
    }

    /// The families the parser for `format` read, or a failure with its complaint.
    static func parse(_ exposition: String, as format: String) throws -> [Family] {
        let result = try check(exposition, as: format)
        try #require(result.status == 0, "\(format): \(result.complaint)")
        return try JSONDecoder().decode([Family].self, from: result.json)
    }

    static func golden(_ name: String) throws -> String {
        try String(contentsOf: GoldenExpositionTests.goldenURL(name), encoding: .utf8)
    }

    static let escapedJob = "review \"batch\"\\7\nx"

    @Test(arguments: [("store.prom", "text"), ("store.openmetrics", "openmetrics")])
    func goldenOutputParses(file: String, format: String) throws {
        let exposition = try Self.golden(file)
        let families = try Self.parse(exposition, as: format)
        #expect(families.count == 41)   // dedup window (2), failure reasons, work planned and finished
        let byName = Dictionary(uniqueKeysWithValues: families.map { ($0.name, $0) })
        func value(_ family: String, _ sample: String, _ labels: [String: String]) -> String? {
            byName[family]?.samples.first { $0.name == sample && $0.labels == labels }?.value
        }

        // Both parsers name a counter family without `_total` and keep `_total` on its samples.
        #expect(byName["progress_job_items_processed"]?.type == "counter")
        #expect(value("progress_job_items_processed", "progress_job_items_processed_total",
                      ["job_name": "etl-nightly", "outcome": "completed"]) == "3.0")
        #expect(value("progress_exporter_events_rejected", "progress_exporter_events_rejected_total",
                      ["reason": "invalid_json"]) == "2.0")

        // Histogram buckets with float `le` labels, +Inf, sum and count, all in the one family.
        let histogram = try #require(byName["progress_job_item_duration_seconds"])
        #expect(histogram.type == "histogram")
        #expect(histogram.samples.count == 3 * 16)
        let etl = ["job_name": "etl-nightly"]
        let bucket = "progress_job_item_duration_seconds_bucket"
        #expect(value(histogram.name, bucket, etl.merging(["le": "10.0"]) { $1 }) == "1.0")
        #expect(value(histogram.name, bucket, etl.merging(["le": "+Inf"]) { $1 }) == "2.0")
        #expect(value(histogram.name, "progress_job_item_duration_seconds_sum", etl) == "24.0")
        #expect(value(histogram.name, "progress_job_item_duration_seconds_count", etl) == "2.0")

        // A label value with a quote, a backslash and a newline comes back unescaped, and so does a non-ASCII one.
        #expect(value("progress_agent_state", "progress_agent_state",
                      ["job_name": Self.escapedJob, "agent": "agent-ß", "state": "running"]) == "1.0")
        #expect(value("progress_agent_progress_ratio", "progress_agent_progress_ratio",
                      ["job_name": "etl-nightly", "agent": "agent-4"]) == "0.25")
    }

    @Test func openMetricsDeclaresBaseUnitsOnlyWhereTheNameEndsWithThem() throws {
        let families = try Self.parse(try Self.golden("store.openmetrics"), as: "openmetrics")
        let units = Dictionary(uniqueKeysWithValues: families.map { ($0.name, $0.unit) })
        #expect(units["progress_job_eta_seconds"] == "seconds")
        #expect(units["progress_job_item_duration_seconds"] == "seconds")
        #expect(units["progress_job_progress_ratio"] == "ratio")
        #expect(units["progress_job_items"] == "")
        #expect(units["progress_job_throughput_items_per_second"] == "")
        for family in families where !family.unit.isEmpty {
            #expect(family.name.hasSuffix("_" + family.unit))
        }
    }

    @Test func theCheckRefusesWhatTheParsersWouldMisread() throws {
        // A sample without a family of its own parses as an untyped family: the script refuses it.
        let stray = try Self.check("# HELP demo_total Demo.\n# TYPE demo_total counter\ndemo_total 1\nstray 2\n", as: "text")
        #expect(stray.status == 1)
        #expect(stray.complaint.contains("samples outside a declared family: stray"))
        let misnamed = try Self.check("# TYPE demo counter\n# HELP demo Demo.\ndemo 1\n# EOF\n", as: "openmetrics")
        #expect(misnamed.status == 1, "a counter sample without _total")
        let twice = try Self.check("# TYPE demo gauge\ndemo 1\n# TYPE demo gauge\ndemo 2\n", as: "text")
        #expect(twice.status == 1)
        #expect(twice.complaint.contains("family declared more than once: demo"))
        let withoutEOF = try Self.check("# TYPE demo gauge\ndemo 1\n", as: "openmetrics")
        #expect(withoutEOF.status == 1)
        #expect(withoutEOF.complaint.contains("Missing # EOF"))
    }
}
