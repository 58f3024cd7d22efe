import ExporterApp
import Tracking
import Foundation
import Testing

/// Several exporters as shards (`--shard.index/--shard.count`): each owns whole jobs, chosen by a hash
/// that trackers in any language compute the same way, and the shards sum to what one exporter shows.
@Suite(.serialized) struct ShardingTests {
    let now = Int(Date().timeIntervalSince1970)

    /// FNV-1a 64 vectors; the shards match the Python in docs/scaling.md, so trackers can route by them.
    @Test(arguments: [
        ("", 0xcbf2_9ce4_8422_2325 as UInt64, 0),
        ("a", 0xaf63_dc4c_8601_ec8c, 1),
        ("foobar", 0x8594_4171_f739_67e8, 1),
        ("etl-nightly", 0x280a_b65e_b44a_4c40, 1),
        ("etl-2026-11-25", 0x35a8_9b89_5776_a690, 1),
        ("job-1", 0xf2c2_e880_2008_f4f6, 1),
        ("über-job", 0x3122_c84e_6fc4_b509, 2),
    ])
    func hashIsFNV1a64OfTheUTF8Bytes(job: String, hash: UInt64, shardOf3: Int) throws {
        #expect(ShardFilter.fnv1a64(job.utf8) == hash)
        #expect(ShardFilter.shard(of: job, count: 3) == shardOf3)
        let owners = try (0..<3).filter { try ShardFilter(index: $0, count: 3).owns(job: job) }
        #expect(owners == [shardOf3])
        #expect(try ShardFilter(index: 0, count: 1).owns(job: job))
    }

    @Test func shardMustBeInsideTheCount() {
        #expect(throws: ShardFilter.Invalid.self) { try ShardFilter(index: 0, count: 0) }
        #expect(throws: ShardFilter.Invalid.self) { try ShardFilter(index: -1, count: 3) }
        #expect(throws: ShardFilter.Invalid.self) { try ShardFilter(index: 3, count: 3) }
        #expect((try? ShardFilter(index: 2, count: 3)) != nil)
    }

    @Test(arguments: [
        (["--shard.index", "1"], "--shard.index needs --shard.count"),
        (["--shard.count", "3"], "--shard.count needs --shard.index"),
        (["--shard.index", "3", "--shard.count", "3"], "--shard.index must be in 0...2"),
        (["--shard.index", "0", "--shard.count", "0"], "--shard.count must be at least 1"),
    ])
    func badShardFlagsAreRefusedWithAReason(arguments: [String], reason: String) throws {
        let process = Process()
        process.executableURL = try ExporterProcess.binary
        process.arguments = ["serve", "--web.listen-address", "127.0.0.1:0"] + arguments
        let stderr = Pipe()
        process.standardError = stderr
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let message = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus != 0)
        #expect(message.contains(reason), "\(message)")
    }

    /// The "broadcast" routing: every tracker sends every event to every shard, and each keeps its own jobs.
    @Test func broadcastEventsLandOnTheShardTheHashNamesAndSumToOneExporter() async throws {
        let jobs = [
            "etl-nightly", "etl-hourly", "review-batch", "gen-images", "ml-train", "ml-eval",
            "backfill", "reindex", "export-s3", "import-gcs", "thumbnails", "transcode",
        ]
        // Job n: 10 + n planned items, n + 1 completed, n % 3 failed attempts, one dead-lettered when n is even.
        func expected(_ n: Int) -> (completed: Int, failed: Int, deadLettered: Int) { (n + 1, n % 3, n % 2 == 0 ? 1 : 0) }
        var lines: [String] = []
        for (n, job) in jobs.enumerated() {
            let counts = expected(n)
            lines.append(#"{"type":"job_started","job":"\#(job)","total_items":\#(10 + n),"ts":\#(now - 60)}"#)
            for i in 0..<counts.completed {
                lines.append(#"{"type":"item_completed","job":"\#(job)","agent":"w\#(i % 2)","item":"i\#(i)","ts":\#(now - 30)}"#)
            }
            for i in 0..<counts.failed {
                lines.append(#"{"type":"item_failed","job":"\#(job)","agent":"w0","item":"f\#(i)","error":"timeout","retryable":true,"ts":\#(now - 20)}"#)
            }
            if counts.deadLettered == 1 {
                lines.append(#"{"type":"item_dead_lettered","job":"\#(job)","item":"d0","error":"bad input","ts":\#(now - 10)}"#)
            }
        }
        let body = lines.joined(separator: "\n")
        let eventsOf = Dictionary(uniqueKeysWithValues: jobs.map { job in (job, lines.filter { $0.contains(#""job":"\#(job)""#) }.count) })

        var shards: [ExporterProcess] = []
        for index in 0..<3 { shards.append(try await ExporterProcess(["--shard.index", "\(index)", "--shard.count", "3"])) }
        let single = try await ExporterProcess([])
        defer {
            for shard in shards { #expect(shard.stop() == 0, "clean exit on SIGTERM") }
            #expect(single.stop() == 0)
        }

        for (index, exporter) in (shards + [single]).enumerated() {
            let answer = try await exporter.request("POST", "/events", body: body)
            #expect(answer.status == 202)
            let summary = try JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as! [String: Any]
            let owned = index < 3 ? jobs.filter { ShardFilter.shard(of: $0, count: 3) == index } : jobs
            let ownedEvents = owned.map { eventsOf[$0]! }.reduce(0, +)
            #expect(summary["accepted"] as? Int == ownedEvents)
            #expect(summary["ignored"] as? Int == lines.count - ownedEvents)
        }

        var metrics: [String] = []
        for shard in shards { metrics.append(try await shard.metrics()) }
        let whole = try await single.metrics()

        for (index, text) in metrics.enumerated() {
            let owned = jobs.filter { ShardFilter.shard(of: $0, count: 3) == index }
            #expect(!owned.isEmpty, "the test's jobs leave shard \(index) empty")
            #expect(sample(text, #"progress_exporter_shard_info{index="\#(index)",count="3"}"#) == 1)
            #expect(sample(text, "progress_exporter_tracked_jobs") == Double(owned.count))
            let notOwnedEvents = jobs.filter { !owned.contains($0) }.map { eventsOf[$0]! }.reduce(0, +)
            #expect(sample(text, #"progress_exporter_events_ignored_total{kind="not_owned_by_shard"}"#) == Double(notOwnedEvents))
            #expect(try promtoolComplaints(text) == "")
        }
        #expect(!whole.contains("progress_exporter_shard_info"))
        #expect(!whole.contains("not_owned_by_shard"))

        for (n, job) in jobs.enumerated() {
            let holders = (0..<3).filter { sample(metrics[$0], #"progress_job_items{job_name="\#(job)"}"#) != nil }
            #expect(holders == [ShardFilter.shard(of: job, count: 3)], "\(job) is on shards \(holders)")
            guard let holder = holders.first else { continue }
            let counts = expected(n)
            for (outcome, count) in [("completed", counts.completed), ("failed", counts.failed), ("dead_lettered", counts.deadLettered)] {
                let series = #"progress_job_items_processed_total{job_name="\#(job)",outcome="\#(outcome)"}"#
                #expect(sample(metrics[holder], series) == Double(count), "\(series)")
                #expect(sample(whole, series) == Double(count), "\(series)")
            }
            #expect(sample(metrics[holder], #"progress_job_items{job_name="\#(job)"}"#) == Double(10 + n))
        }

        // sum by (outcome) (progress_job_items_processed_total) over the shards equals one exporter's.
        let summed = metrics.map(processedByOutcome).reduce(into: [String: Double]()) { total, shard in
            total.merge(shard, uniquingKeysWith: +)
        }
        #expect(summed == processedByOutcome(whole))
        #expect(summed["completed"] == Double(jobs.indices.map { expected($0).completed }.reduce(0, +)))
    }

    /// `progress_job_items_processed_total` summed by outcome over every job of one exposition.
    private func processedByOutcome(_ metrics: String) -> [String: Double] {
        var sums: [String: Double] = [:]
        for line in metrics.split(separator: "\n") where line.hasPrefix("progress_job_items_processed_total{") {
            guard let outcome = line.firstMatch(of: /outcome="([a-z_]+)"/)?.1,
                  let value = line.split(separator: " ").last.flatMap({ Double($0) })
            else { continue }
            sums[String(outcome), default: 0] += value
        }
        return sums
    }

    @Test func aBodyOfOtherShardsJobsIsAcceptedNotRefused() async throws {
        // "über-job" hashes to shard 2 of 3 (see the vectors above), so shard 0 owns none of it.
        let exporter = try await ExporterProcess(["--shard.index", "0", "--shard.count", "3"])
        defer { exporter.stop() }
        let answer = try await exporter.request("POST", "/events", body: #"{"type":"job_started","job":"über-job","total_items":3}"#)
        #expect(answer.status == 202)
        #expect(answer.body.contains(#""accepted":0"#) && answer.body.contains(#""ignored":1"#))
    }
}
