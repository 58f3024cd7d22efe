import Foundation
import Testing

/// /metrics of the real binary as scrapers get it: gzip when Accept-Encoding allows it (checked with curl, which
/// shows the raw bytes and headers that URLSession hides), and both formats read by the Python client's parsers.
@Suite(.serialized) struct CompressionEndToEndTests {
    /// A fixed set of events, so two scrapes differ only in the values that move with time (and in
    /// alerts, which time starts: `seriesOf` leaves them out). Their times are taken when they are
    /// sent: on a loaded machine the start can take long enough for older ones to raise alerts.
    func exporter(_ arguments: [String] = []) async throws -> ExporterProcess {
        let exporter = try await ExporterProcess(arguments)
        let now = Int(Date().timeIntervalSince1970)
        let body = """
            {"type":"job_started","job":"etl","total_items":4,"ts":\(now - 30)}
            {"type":"agent_started","job":"etl","agent":"w\\"1","item":"a","ts":\(now - 20)}
            {"type":"item_completed","job":"etl","agent":"w\\"1","item":"a","duration_seconds":3.5,"ts":\(now - 10)}
            """
        #expect(try await exporter.request("POST", "/events", body: body).status == 202)
        return exporter
    }

    @Test func gzipWhenAcceptedWithTheSameSeriesAsUnencoded() async throws {
        let exporter = try await exporter()
        defer { exporter.stop() }
        let plain = try Curl.get(exporter.base + "/metrics")
        #expect(plain.header("content-encoding") == nil)
        #expect(plain.header("vary") == "Accept, Accept-Encoding")

        let gzipped = try Curl.get(exporter.base + "/metrics", headers: ["Accept-Encoding: gzip"])
        #expect(gzipped.header("content-encoding") == "gzip")
        #expect(gzipped.header("vary") == "Accept, Accept-Encoding")
        #expect(gzipped.header("content-type") == "text/plain; version=0.0.4; charset=utf-8")
        #expect(Array(gzipped.body.prefix(2)) == [0x1f, 0x8b])
        let decoded = String(decoding: try Curl.gunzip(gzipped.body), as: UTF8.self)
        let text = String(decoding: plain.body, as: UTF8.self)
        #expect(gzipped.body.count * 3 < decoded.utf8.count, "text compresses well")
        #expect(seriesOf(decoded) == seriesOf(text))
        #expect(sample(decoded, #"progress_job_items_processed_total{job_name="etl",outcome="completed"}"#) == 1)
        #expect(try promtoolComplaints(decoded) == "")

        // curl --compressed offers every coding it knows and decodes the answer, as scrapers' HTTP clients do.
        let viaCurl = try Curl.get(exporter.base + "/metrics", extra: ["--compressed"])
        #expect(viaCurl.header("content-encoding") == "gzip")
        #expect(seriesOf(String(decoding: viaCurl.body, as: UTF8.self)) == seriesOf(text))
    }

    @Test func openMetricsAsPrometheusAsksForIt() async throws {
        let exporter = try await exporter()
        defer { exporter.stop() }
        // The headers Prometheus 2.42 sends with every scrape.
        let answer = try Curl.get(exporter.base + "/metrics", headers: [
            "Accept: application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
                + "text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
            "Accept-Encoding: gzip",
        ])
        #expect(answer.header("content-type") == "application/openmetrics-text; version=1.0.0; charset=utf-8")
        #expect(answer.header("content-encoding") == "gzip")
        let decoded = String(decoding: try Curl.gunzip(answer.body), as: UTF8.self)
        #expect(decoded.hasSuffix("\n# EOF\n"))
        #expect(decoded.contains("# TYPE process_cpu_seconds counter\n# UNIT process_cpu_seconds seconds\n"))
        #expect(decoded.contains("\nprocess_cpu_seconds_total "))
        try expectParses(decoded, as: "openmetrics")
    }

    @Test func gzipRefusedOrTurnedOffMeansUnencoded() async throws {
        let refusing = try await exporter()
        for acceptEncoding in ["gzip;q=0", "identity", "*;q=0, identity", "br"] {
            let answer = try Curl.get(refusing.base + "/metrics", headers: ["Accept-Encoding: \(acceptEncoding)"])
            #expect(answer.header("content-encoding") == nil, "\(acceptEncoding)")
            #expect(String(decoding: answer.body, as: UTF8.self).hasPrefix("# HELP "), "\(acceptEncoding)")
        }
        refusing.stop()

        let off = try await exporter(["--web.gzip-level", "0"])
        defer { off.stop() }
        let answer = try Curl.get(off.base + "/metrics", headers: ["Accept-Encoding: gzip"])
        #expect(answer.header("content-encoding") == nil)
        #expect(answer.header("vary") == "Accept")
        try expectParses(String(decoding: answer.body, as: UTF8.self), as: "text")
    }

    @Test func aLevelOutsideZeroToNineIsRefusedAtStart() async throws {
        await #expect(throws: TestFailure.self) { try await ExporterProcess(["--web.gzip-level", "10"]) }
    }

    /// Each sample line without its value: which series an exposition holds, whatever time did to the
    /// values. Alerts are left out: one may go from pending to firing between two scrapes.
    func seriesOf(_ exposition: String) -> [Substring] {
        exposition.split(separator: "\n").filter { !$0.hasPrefix("#") && !$0.hasPrefix("progress_alert_active") }.map { line in
            line[..<(line.lastIndex(of: " ") ?? line.endIndex)]
        }
    }

    /// scripts/check-exposition.py: the Python client's parser for `format` reads it, every sample in its family.
    func expectParses(_ exposition: String, as format: String) throws {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scripts/check-exposition.py")
        let result = try Curl.run("/usr/bin/python3", [script.path, format], input: Data(exposition.utf8))
        #expect(result.status == 0, "\(format): \(String(decoding: result.errors, as: UTF8.self))")
    }
}

/// curl and gzip as programs, for what URLSession does not show: raw bodies and Content-Encoding.
enum Curl {
    struct Answer {
        let headers: [String: String]
        let body: Data

        func header(_ name: String) -> String? { headers[name.lowercased()] }
    }

    /// GET with curl; headers of the final answer keyed by lowercased name.
    static func get(_ url: String, headers: [String] = [], extra: [String] = []) throws -> Answer {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("curl-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let headerFile = folder.appendingPathComponent("headers")
        let bodyFile = folder.appendingPathComponent("body")
        let arguments = ["-sS", "--max-time", "10", "-D", headerFile.path, "-o", bodyFile.path]
            + headers.flatMap { ["-H", $0] } + extra + [url]
        let result = try run("/usr/bin/curl", arguments)
        guard result.status == 0 else { throw TestFailure("curl \(url): \(String(decoding: result.errors, as: UTF8.self))") }
        var fields: [String: String] = [:]
        for line in try String(contentsOf: headerFile, encoding: .utf8).split(separator: "\r\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return Answer(headers: fields, body: try Data(contentsOf: bodyFile))
    }

    /// `gzip -d`, a decoder independent of the exporter's.
    static func gunzip(_ data: Data) throws -> Data {
        let result = try run("/bin/gzip", ["-d", "-c"], input: data)
        guard result.status == 0 else { throw TestFailure("gzip -d: \(String(decoding: result.errors, as: UTF8.self))") }
        return result.output
    }

    static func run(_ program: String, _ arguments: [String], input: Data = Data()) throws -> (status: Int32, output: Data, errors: Data) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        let stdin = Pipe()
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        // Feed stdin from another thread: the output may be larger than a pipe holds.
        let writer = Thread {
            stdin.fileHandleForWriting.write(input)
            try? stdin.fileHandleForWriting.close()
        }
        writer.start()
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        // Read after stdout: these programs write at most a line or two there, far less than a pipe holds.
        let errors = stderr.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, output, errors)
    }
}
