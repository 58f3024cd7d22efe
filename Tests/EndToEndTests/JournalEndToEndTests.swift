import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import TestSupport
import Testing

/// `--storage.journal` through the real binary under the faults it must survive: a full disk, a
/// flipped byte, a damaged newest snapshot. Every 202 must be there after kill -9, nothing twice.
@Suite(.serialized) struct JournalEndToEndTests {
    let now = Int(Date().timeIntervalSince1970)
    static let completed = #"progress_job_items_processed_total{job_name="etl",outcome="completed"}"#

    private func event(_ i: Int) -> String {
        #"{"type":"item_completed","job":"etl","agent":"w\#(i % 7)","item":"p\#(i)","ts":\#(now - 10)}"#
    }

    private func killNine(_ exporter: ExporterProcess) {
        kill(exporter.process.processIdentifier, SIGKILL)
        exporter.process.waitUntilExit()
    }

    private func segments(_ folder: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { $0.hasSuffix(".wal") }.sorted {
            $0.count != $1.count ? $0.count < $1.count : $0 < $1
        }
    }

    /// The disk fills (a file-size limit set on the running process: writes fail part-way with
    /// EFBIG, as on a full disk) and is freed again; kill -9; every body answered 202 is there once.
    @Test func aFullDiskThenFreedLosesNoAcknowledgedEvent() async throws {
        let folder = try PersistenceTests.Folder()
        let arguments = ["--storage.path", folder.path("data"), "--storage.snapshot-interval", "1h", "--storage.journal"]
        let first = try await ExporterProcess(arguments, launcher: ["/usr/bin/prlimit", "--fsize=20000:unlimited", "--"])
        var accepted = 0, refused = 0
        for i in 0..<400 {
            let status = try await first.request("POST", "/events", body: event(i)).status
            if status == 202 { accepted += 1 } else if status == 503 { refused += 1 } else { Issue.record("status \(status)") }
            if i == 250 {
                // The space comes back.
                let free = Process()
                free.executableURL = URL(fileURLWithPath: "/usr/bin/prlimit")
                free.arguments = ["--pid", "\(first.process.processIdentifier)", "--fsize=unlimited"]
                try free.run()
                free.waitUntilExit()
                #expect(free.terminationStatus == 0)
            }
        }
        #expect(refused > 0, "the limit was reached: some bodies were refused")
        #expect(accepted > 250, "after the space came back, bodies were accepted again")
        #expect(sample(try await first.metrics(), Self.completed) == Double(accepted), "a 503 applied nothing")
        killNine(first)

        let second = try await ExporterProcess(arguments)
        defer { second.stop() }
        #expect(sample(try await second.metrics(), Self.completed) == Double(accepted))
        #expect(!second.startupLog.contains("damaged record"))
    }

    /// One flipped byte in the middle of a segment: only that record is lost, counted, quarantined.
    @Test func aFlippedByteLosesOnlyItsRecord() async throws {
        let folder = try PersistenceTests.Folder()
        let data = folder.path("data")
        let arguments = ["--storage.path", data, "--storage.snapshot-interval", "1h", "--storage.journal"]
        let first = try await ExporterProcess(arguments)
        for i in 0..<1000 { #expect(try await first.request("POST", "/events", body: event(i)).status == 202) }
        killNine(first)
        let name = try #require(segments(data).last)
        let url = URL(fileURLWithPath: data + "/" + name)
        var bytes = [UInt8](try Data(contentsOf: url))
        bytes[bytes.count / 2] ^= 0x20
        try Data(bytes).write(to: url)

        let second = try await ExporterProcess(arguments)
        defer { second.stop() }
        let metrics = try await second.metrics()
        #expect(sample(metrics, Self.completed) == 999)
        #expect(sample(metrics, "progress_exporter_storage_journal_damaged_records_total") == 1)
        #expect(second.startupLog.contains("journal: damaged record skipped"))
        let quarantined = (try? FileManager.default.contentsOfDirectory(atPath: data + "/quarantine")) ?? []
        #expect(quarantined.count == 1)
    }

    /// Two snapshots written, more events after them, then the newest snapshot is damaged and the
    /// process killed: the previous snapshot plus the journal bring back every acknowledged event.
    @Test func aDamagedNewestSnapshotFallsBackToThePreviousOnePlusTheJournal() async throws {
        let folder = try PersistenceTests.Folder()
        let data = folder.path("data")
        let arguments = ["--storage.path", data, "--storage.snapshot-interval", "1s", "--storage.journal"]
        let first = try await ExporterProcess(arguments)
        var sent = 0
        func send(_ count: Int) async throws {
            for _ in 0..<count {
                #expect(try await first.request("POST", "/events", body: event(sent)).status == 202)
                sent += 1
            }
        }
        // Events before, between and after snapshots; wait until at least three were written so
        // the journal has had the chance to delete segments.
        try await send(50)
        #expect(try await eventually(within: 10) { (sample(try await first.metrics(), "progress_exporter_storage_last_sequence") ?? 0) >= 50 })
        try await send(50)
        let written = sample(try await first.metrics(), "progress_exporter_storage_last_sequence") ?? 0
        #expect(try await eventually(within: 10) { (sample(try await first.metrics(), "progress_exporter_storage_last_sequence") ?? 0) > written })
        try await send(50)
        let second = sample(try await first.metrics(), "progress_exporter_storage_last_sequence") ?? 0
        #expect(try await eventually(within: 10) { (sample(try await first.metrics(), "progress_exporter_storage_last_sequence") ?? 0) > second })
        try await send(50)
        killNine(first)
        let snapshot = URL(fileURLWithPath: data + "/state.snap")
        var bytes = [UInt8](try Data(contentsOf: snapshot))
        bytes[bytes.count / 2] ^= 0xFF
        try Data(bytes).write(to: snapshot)

        let restarted = try await ExporterProcess(arguments)
        defer { restarted.stop() }
        #expect(restarted.startupLog.contains("snapshot refused"))
        #expect(sample(try await restarted.metrics(), Self.completed) == Double(sent))
    }

    /// Events without `ts` take their arrival time; read again from the journal after kill -9 they
    /// keep it, instead of taking the time of the restart.
    @Test func aReplayedBatchKeepsItsArrivalTime() async throws {
        let folder = try PersistenceTests.Folder()
        let arguments = ["--storage.path", folder.path("data"), "--storage.snapshot-interval", "1h", "--storage.journal"]
        let first = try await ExporterProcess(arguments)
        #expect(try await first.request("POST", "/events", body: #"{"type":"job_started","job":"etl","total_items":3}"#).status == 202)
        let series = #"progress_job_start_timestamp_seconds{job_name="etl"}"#
        let started = try #require(sample(try await first.metrics(), series))
        killNine(first)
        try await Task.sleep(for: .seconds(1.5))
        let second = try await ExporterProcess(arguments)
        defer { second.stop() }
        #expect(sample(try await second.metrics(), series) == started)
    }
}
