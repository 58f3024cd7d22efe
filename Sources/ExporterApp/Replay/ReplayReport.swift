import Events
import Foundation

/// How a replay's result is printed: a table for people, JSON for programs.
public enum ReplayReport {
    /// One row per job, then each job's ETC history.
    public static func table(_ result: ReplayResult) -> String {
        let header = ["JOB", "STATUS", "PLANNED", "FINISHED", "FAILED", "DEAD-LETTERED", "RETRIES", "DURATION", "ITEMS/S", "ETC"]
        var rows = [header]
        for job in result.jobs {
            rows.append([
                printable(job.job), job.status, job.planned.map(String.init) ?? "-", "\(job.finished)", "\(job.failed)",
                "\(job.deadLettered)", "\(job.retries)", duration(job.durationSeconds), String(format: "%.2f", job.meanThroughput),
                job.etaSeconds.map(duration) ?? "-",
            ])
        }
        var lines = TextTable.render(rows)
        let history = result.jobs.filter { !$0.etcHistory.isEmpty }
        if !history.isEmpty {
            lines.append("")
            lines.append("ETC history (what the ETC said when the job passed each mark):")
            for job in history {
                let points = job.etcHistory.map { point in
                    "\(Int((point.mark * 100).rounded()))% at \(timestamp(point.eventTime)): \(point.etaSeconds.map(duration) ?? "unknown")"
                }
                // Only an ended job ended; one still running (or paused) at the log's end stopped at its last event.
                let ended = ["completed", "failed", "cancelled"].contains(job.status)
                let end = ended ? "ended \(timestamp(job.lastEventTime))" : "still \(job.status) at its last event, \(timestamp(job.lastEventTime))"
                lines.append("  \(printable(job.job)): " + points.joined(separator: "; ") + "; " + end)
            }
        }
        lines.append("")
        lines.append("\(result.accepted) events applied, \(result.rejected) rejected, \(result.ignored) ignored; event time "
            + "\(result.firstEventTime.map(timestamp) ?? "-") to \(timestamp(result.endTime)), replayed in "
            + String(format: "%.2f", result.realSeconds) + " s")
        return lines.joined(separator: "\n") + "\n"
    }

    public static func json(_ result: ReplayResult) throws -> String {
        String(decoding: try JSONEncoder.api.encode(result), as: UTF8.self) + "\n"
    }

    /// An id as one line of a table: control characters (a newline in a job id) written as escapes.
    static func printable(_ id: String) -> String {
        guard id.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else { return id }
        return id.unicodeScalars.map { scalar in
            scalar.properties.generalCategory == .control ? scalar.escaped(asASCII: true) : String(scalar)
        }.joined()
    }

    /// Prometheus's duration syntax, rounded to the second (`1h2m3s`); under a second as `0.4s`.
    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "-" }
        if seconds == 0 { return "0s" }
        if seconds < 1 { return String(format: "%.1fs", seconds) }
        return PromDuration.format(seconds.rounded())
    }

    static func timestamp(_ seconds: Double) -> String {
        Date(timeIntervalSince1970: seconds).formatted(.iso8601)
    }
}

/// Columns padded to their widest cell, two spaces apart.
enum TextTable {
    static func render(_ rows: [[String]]) -> [String] {
        let widths = rows.reduce(into: [Int]()) { widths, row in
            for (index, cell) in row.enumerated() {
                if index >= widths.count { widths.append(0) }
                widths[index] = max(widths[index], cell.count)
            }
        }
        return rows.map { row in
            row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }
    }
}
