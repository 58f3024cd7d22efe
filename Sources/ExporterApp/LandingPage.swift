import Events
import Foundation
import MicroHTTP
import Tracking

/// GET /: a plain page with the endpoints and a table of the jobs as they are now.
enum LandingPage {
    static func response(store: ProgressStore) -> HTTPResponse {
        var rows = ""
        for job in store.jobSummaries() {
            let progress = job.progressRatio.map { String(format: "%.1f%%", $0 * 100) } ?? "–"
            let eta = job.etaSeconds.map(DurationText.short) ?? "–"
            let agents = job.agents.filter { $0.value > 0 }.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            rows += "<tr><td>\(escape(job.job))</td><td>\(job.status)</td><td><progress max=\"1\" value=\"\(job.progressRatio ?? 0)\"></progress> \(progress)</td>"
            rows += "<td>\(job.finished) / \(job.planned.map(String.init) ?? "?")</td><td>\(String(format: "%.2f", job.throughput))/s</td><td>\(eta)</td><td>\(escape(agents))</td></tr>\n"
        }
        let html = """
            <!doctype html>
            <html><head><meta charset="utf-8"><title>progress-exporter</title>
            <style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{padding:4px 10px;border-bottom:1px solid #ddd;text-align:left}</style>
            </head><body>
            <h1>progress-exporter \(BuildInfo.version)</h1>
            <p><a href="/metrics">Metrics</a> · <a href="/api/v1/jobs">Jobs (JSON)</a> · <a href="/-/healthy">Health</a> · <a href="/-/ready">Readiness</a></p>
            <table><tr><th>Job</th><th>Status</th><th>Progress</th><th>Finished / planned</th><th>Throughput (5m)</th><th>ETC</th><th>Agents</th></tr>
            \(rows)</table>
            </body></html>
            """
        return .bytes(Array(html.utf8), contentType: "text/html; charset=utf-8")
    }


    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
