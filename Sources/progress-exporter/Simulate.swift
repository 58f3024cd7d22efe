import ArgumentParser
import Clocks
import ExporterApp
import Foundation
import HTTPClient

/// `progress-exporter simulate`: generate a realistic event stream to stdout or into a running exporter.
struct Simulate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate simulated tracker events (NDJSON) to stdout, or POST them to an exporter's /events.")

    @Option(help: "Jobs running at once; each starts its next run (NAME-run2, -run3, ...) 30 s of simulated time after a run ends, so a long --duration gives more jobs than this.") var jobs = 3
    @Option(help: "Agents per job.") var agents = 25
    @Option(help: "Items per job.") var items = 3000
    @Option(name: .customLong("item-seconds"), help: "Mean seconds per item.") var itemSeconds = 2.0
    @Option(name: .customLong("failure-rate"), help: "Chance that an attempt fails.") var failureRate = 0.05
    @Option(help: "Seed of the generator; the same seed gives the same events.") var seed: UInt64 = 42
    @Option(help: "Stop after this much simulated time (e.g. 10m); absent: run until interrupted.", transform: DurationArgument.parse)
    var duration: DurationArgument?
    @Option(
        parsing: .unconditional,
        help: "Simulated seconds per real second; 0 runs as fast as possible (needs --duration; the simulated time then ends now).")
    var speed = 1.0
    @Option(help: "POST the events to this /events URL instead of printing them.") var url: String?

    var options: DemoOptions {
        var options = DemoOptions()
        options.jobs = jobs
        options.agentsPerJob = agents
        options.itemsPerJob = items
        options.meanItemSeconds = itemSeconds
        options.failureRate = failureRate
        options.seed = seed
        return options
    }

    func validate() throws {
        if let (setting, reason) = options.problem() {
            let flag = switch setting {
            case .jobs: "--jobs"
            case .agentsPerJob: "--agents"
            case .itemsPerJob: "--items"
            case .meanItemSeconds: "--item-seconds"
            case .failureRate: "--failure-rate"
            }
            throw ValidationError("\(flag) \(reason)")
        }
        guard speed >= 0, speed.isFinite else {
            throw ValidationError("--speed must be 0 (as fast as possible) or a positive number of simulated seconds per real second, not \(speed)")
        }
        if speed == 0 && duration == nil {
            throw ValidationError("--speed 0 needs --duration (e.g. --duration 10m): as fast as possible, an endless stream would run ahead of the clock")
        }
    }

    func run() throws {
        var simulation = Simulation(options: options)
        let wallStart = WallClock().now()
        let pacingStart = MonotonicClock().now()
        let step = 0.25
        // As fast as possible, the simulated time ends now (its events lie in the past, as a replay's
        // do); paced, it starts now and follows the clock at `speed`.
        let simulatedStart = speed == 0 ? wallStart - (duration?.seconds ?? 0) : wallStart
        var simulated = simulatedStart
        let end = duration.map { simulatedStart + $0.seconds }
        let sink = try url.map { try EventPoster(url: $0) }
        while end.map({ simulated <= $0 }) ?? true {
            let events = simulation.advance(to: simulated)
            if !events.isEmpty {
                let body = NativeEventEncoder.ndjson(events)
                if let sink { try sink.post(body) } else { FileHandle.standardOutput.write(Data(body)) }
            }
            simulated += step
            if speed > 0 {
                let due = pacingStart + (simulated - simulatedStart) / speed
                let wait = due - MonotonicClock().now()
                if wait > 0 { Thread.sleep(forTimeInterval: wait) }
            }
        }
    }
}

/// Sends NDJSON batches to an exporter through the one HTTP client, one request at a time.
struct EventPoster {
    let url: URL
    private let client = HTTPClient()

    init(url: String) throws {
        guard let parsed = URL(string: url), parsed.scheme == "http" || parsed.scheme == "https" else {
            throw ValidationError("--url must be an http(s) URL, not \(url)")
        }
        self.url = parsed
    }

    func post(_ body: [UInt8]) throws {
        let request = HTTPClientRequest(.post, url: url.absoluteString, headers: ["Content-Type: application/x-ndjson"], body: body, timeout: 60)
        let (response, end) = client.fetch(request, limit: 64 << 10)
        switch end {
        case .completed(202): return
        case .completed(let status):
            throw PostFailure(url: url, reason: "HTTP \(status): \(String(decoding: response.body.prefix(1000), as: UTF8.self))")
        default:
            throw PostFailure(url: url, reason: end.reason)
        }
    }
}

/// A POST that failed: not a usage error, so ArgumentParser prints "Error: ..." without the usage
/// and exits 1.
struct PostFailure: Error, CustomStringConvertible {
    let url: URL
    let reason: String
    var description: String { "could not send events to \(url): \(reason)" }
}
