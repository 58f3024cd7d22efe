// `progress-bench nats-publish URL STREAM MESSAGES EVENTS_PER_MESSAGE`: makes the stream (subjects
// `progress.>`) and publishes MESSAGES messages of EVENTS_PER_MESSAGE native events each to
// `progress.job-N` (10 jobs), for Benchmarks/nats/run.sh to measure how fast an exporter drains them.
import Foundation
import TestSupport

func benchNATSPublish(_ arguments: [String]) {
    guard arguments.count == 4, let messages = Int(arguments[2]), let perMessage = Int(arguments[3]) else {
        print("usage: progress-bench nats-publish URL STREAM MESSAGES EVENTS_PER_MESSAGE")
        exit(2)
    }
    do {
        let publisher = try NATSPublisher(url: arguments[0])
        try publisher.addStream(arguments[1], subjects: ["progress.>"])
        let bodies = (0..<10).map { job in
            String(decoding: eventBody(count: perMessage, agents: 1_000, start: Date().timeIntervalSince1970 - 60), as: UTF8.self)
                .replacingOccurrences(of: #""job":"job-"#, with: #""job":"job-\#(job)-"#)
        }
        var failures = 0
        let elapsed = seconds {
            for index in 0..<messages {
                do {
                    try publisher.publishQuickly("progress.job-\(index % 10)", bodies[index % 10])
                } catch {
                    failures += 1
                }
            }
            publisher.flush()
        }
        print("published \(messages - failures) messages of \(perMessage) events in \(String(format: "%.2f", elapsed)) s (\(failures) failed)")
    } catch {
        print("error: \(error)")
        exit(1)
    }
}
