import Foundation
import TestSupport
import Testing

/// `--events.nats-url` through the real binary and a real `nats-server` with JetStream: sharding by
/// the server's subject mapping, kill -9 mid-stream, nothing lost and nothing counted twice.
@Suite(.serialized) struct NATSEndToEndTests {
    let now = Int(Date().timeIntervalSince1970)

    private func completed(_ metrics: String, job: String) -> Double {
        sample(metrics, #"progress_job_items_processed_total{job_name="\#(job)",outcome="completed"}"#) ?? 0
    }

    /// One message of `count` completed items of `job`, numbered from `first`.
    private func message(job: String, first: Int, count: Int) -> String {
        (first..<first + count).map { #"{"type":"item_completed","job":"\#(job)","agent":"w\#($0 % 3)","item":"i\#($0)","ts":\#(now - 5)}"# }
            .joined(separator: "\n")
    }

    private func killNine(_ exporter: ExporterProcess) {
        kill(exporter.process.processIdentifier, SIGKILL)
        exporter.process.waitUntilExit()
    }

    @Test func twoShardsOnAPartitionedStreamSurviveKillNineWithExactCounts() async throws {
        let server = try NATSServer(mappings: ["progress.*": "progress.{{partition(2,1)}}.{{wildcard(1)}}"])
        defer { server.stop() }
        let publisher = try NATSPublisher(url: server.url)
        try publisher.addStream("PROGRESS", subjects: ["progress.>"])
        let folder = try PersistenceTests.Folder()
        func shard(_ index: Int) async throws -> ExporterProcess {
            try await ExporterProcess([
                "--events.nats-url", server.url, "--events.nats-stream", "PROGRESS",
                "--events.nats-subject", "progress.\(index).>", "--events.nats-consumer", "shard-\(index)", "--events.nats-ack-wait", "3s",
                "--storage.path", folder.path("shard-\(index)"), "--storage.journal", "--storage.snapshot-interval", "1h",
            ])
        }
        let jobs = (0..<8).map { "job-\($0)" }
        let perMessage = 5, messagesPerJob = 60
        var shard0 = try await shard(0)
        let shard1 = try await shard(1)
        defer { shard0.stop(); shard1.stop() }
        // First half, then kill shard 0 while it reads the second half, then restart it.
        for round in 0..<messagesPerJob / 2 {
            for job in jobs { try publisher.publishQuickly("progress.\(job)", message(job: job, first: round * perMessage, count: perMessage)) }
        }
        publisher.flush()
        #expect(try await eventually(within: 20) { completed(try await shard0.metrics(), job: "job-0") + completed(try await shard1.metrics(), job: "job-0") > 0 })
        for round in messagesPerJob / 2..<messagesPerJob {
            for job in jobs { try publisher.publishQuickly("progress.\(job)", message(job: job, first: round * perMessage, count: perMessage)) }
            if round == messagesPerJob * 3 / 4 { killNine(shard0) }
        }
        publisher.flush()
        shard0 = try await shard(0)
        let total = Double(perMessage * messagesPerJob)
        #expect(try await eventually(within: 30) {
            let (m0, m1) = (try await shard0.metrics(), try await shard1.metrics())
            return jobs.allSatisfy { completed(m0, job: $0) + completed(m1, job: $0) == total }
        })
        let (m0, m1) = (try await shard0.metrics(), try await shard1.metrics())
        for job in jobs {
            let (a, b) = (completed(m0, job: job), completed(m1, job: job))
            #expect(a + b == total, "\(job): \(a) + \(b) items")
            #expect(a == 0 || b == 0, "\(job) lives on one shard only")
        }
        #expect(jobs.contains { completed(m0, job: $0) > 0 } && jobs.contains { completed(m1, job: $0) > 0 }, "both shards own jobs")
        #expect(sample(m0, "progress_exporter_nats_connected") == 1)
        #expect((sample(m0, #"progress_exporter_nats_messages_total{result="applied"}"#) ?? 0) > 0, "the restarted shard read part of the stream")
        #expect(try await shard0.request("GET", "/-/ready").status == 200)
    }

    /// Without the journal, a message is acknowledged once a snapshot holds it: kill -9 before that
    /// and it is delivered again, applied once.
    @Test func withoutTheJournalMessagesAreAcknowledgedOnceASnapshotHoldsThem() async throws {
        let server = try NATSServer()
        defer { server.stop() }
        let publisher = try NATSPublisher(url: server.url)
        try publisher.addStream("EVENTS", subjects: ["progress.>"])
        let folder = try PersistenceTests.Folder()
        let arguments = ["--events.nats-url", server.url, "--events.nats-stream", "EVENTS", "--events.nats-ack-wait", "3s",
                         "--storage.path", folder.path("data"), "--storage.snapshot-interval", "1s"]
        let first = try await ExporterProcess(arguments)
        for round in 0..<20 { try publisher.publish("progress.etl", message(job: "etl", first: round * 10, count: 10)) }
        #expect(try await eventually(within: 20) { completed(try await first.metrics(), job: "etl") == 200 })
        // A snapshot holds them all, and then they are acknowledged.
        #expect(try await eventually(within: 20) { sample(try await first.metrics(), "progress_exporter_nats_acks_total") == 20 })
        for round in 20..<40 { try publisher.publish("progress.etl", message(job: "etl", first: round * 10, count: 10)) }
        #expect(try await eventually(within: 20) { completed(try await first.metrics(), job: "etl") == 400 })
        killNine(first)

        let second = try await ExporterProcess(arguments)
        defer { second.stop() }
        #expect(try await eventually(within: 30) { completed(try await second.metrics(), job: "etl") == 400 })
        // Whatever was delivered again after the restart was recognised, and acknowledged.
        #expect(try await eventually(within: 20) { sample(try await second.metrics(), "progress_exporter_nats_awaiting_snapshot_messages") == 0 })
        #expect(completed(try await second.metrics(), job: "etl") == 400)
    }

    @Test func badFlagsAreRefusedAtStart() async throws {
        let (status, output) = try await ExporterProcess.runToExit(["serve", "--web.listen-address", "127.0.0.1:0", "--events.nats-url", "nats://127.0.0.1:1"])
        #expect(status != nil && status != 0)
        #expect(output.contains("--events.nats-url needs --events.nats-stream"))
        let (status2, output2) = try await ExporterProcess.runToExit(["serve", "--web.listen-address", "127.0.0.1:0", "--events.nats-stream", "S"])
        #expect(status2 != nil && status2 != 0)
        #expect(output2.contains("--events.nats-stream needs --events.nats-url"))
    }
}
