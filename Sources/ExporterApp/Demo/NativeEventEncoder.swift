import Events
import Foundation

/// Writes events as native NDJSON lines (SPEC section 2), e.g. for `simulate`.
public enum NativeEventEncoder {
    private struct Line: Encodable {
        let type: String
        let job: String
        let agent: String?
        let item: String?
        let ts: Double?
        let id: String?
        let total_items: Int64?
        let count: Int64?
        let deadline: Double?
        let error: String?
        let step: String?
        let steps_completed: Int64?
        let total_steps: Int64?
        let progress: Double?
        let state: String?
        let duration_seconds: Double?
        let retryable: Bool?
        let attempt: Int64?
    }

    public static func line(_ e: Event) -> [UInt8] {
        let line = Line(
            type: e.kind.rawValue, job: e.job, agent: e.agent, item: e.item, ts: e.time, id: e.id,
            total_items: e.totalItems, count: e.count, deadline: e.deadline, error: e.error, step: e.step,
            steps_completed: e.stepsCompleted, total_steps: e.totalSteps, progress: e.progress,
            state: e.state?.rawValue, duration_seconds: e.durationSeconds, retryable: e.retryable, attempt: e.attempt)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array((try? encoder.encode(line)) ?? Data())
    }

    public static func ndjson(_ events: [Event]) -> [UInt8] {
        var out: [UInt8] = []
        for event in events {
            out.append(contentsOf: line(event))
            out.append(UInt8(ascii: "\n"))
        }
        return out
    }
}
