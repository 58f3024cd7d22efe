import Foundation
import Tracking

/// The text of `progress-exporter top`: the screen (lines that fit a width and height) and the plain
/// summary lines. Pure functions of the state, the size and the clock, so tests can check them.
public enum TopRender {
    /// An id from a tracker as printable text: control characters (C0, DEL, C1), bidirectional
    /// overrides and line separators are dropped, so an id cannot move the cursor, recolour the
    /// terminal or reorder what follows it.
    public static func sanitize(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            let v = scalar.value
            if v < 0x20 || (0x7F ... 0x9F).contains(v) { continue }
            if (0x202A ... 0x202E).contains(v) || (0x2066 ... 0x2069).contains(v) || v == 0x2028 || v == 0x2029 || v == 0x200E || v == 0x200F || v == 0x061C {
                continue
            }
            out.append(scalar)
        }
        return String(out)
    }

    /// A duration as `45s`, `3m05s`, `2h10m`, `3d04h`; `-` when unknown.
    public static func duration(_ seconds: Double?) -> String {
        guard let seconds, seconds.isFinite, seconds >= 0 else { return "-" }
        let s = Int(seconds.rounded())
        if s < 60 { return "\(s)s" }
        if s < 3600 { return "\(s / 60)m" + pad2(s % 60) + "s" }
        if s < 86400 { return "\(s / 3600)h" + pad2(s % 3600 / 60) + "m" }
        if s / 86400 > 9999 { return ">9999d" }
        return "\(s / 86400)d" + pad2(s % 86400 / 3600) + "h"
    }

    private static func pad2(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }

    /// A count: integers as integers, large ones with k/M.
    /// A count from the API (whole numbers).
    public static func count<Whole: BinaryInteger>(_ value: Whole?) -> String { count(value.map { Double($0) }) }

    public static func count(_ value: Double?) -> String {
        guard let value, value.isFinite else { return "-" }
        if abs(value) >= 10_000_000 { return String(format: "%.1fM", value / 1e6) }
        if abs(value) >= 100_000 { return String(format: "%.0fk", value / 1e3) }
        if value == value.rounded() { return String(Int64(value)) }
        return String(format: "%.1f", value)
    }

    /// Items per second.
    public static func rate(_ value: Double?) -> String {
        guard let value, value.isFinite else { return "-/s" }
        if value >= 100 { return String(format: "%.0f/s", value) }
        if value >= 10 { return String(format: "%.1f/s", value) }
        return String(format: "%.2f/s", value)
    }

    /// `[####......]` with `inner` cells, filled in proportion to `ratio` (rounded down).
    public static func bar(_ ratio: Double?, inner: Int) -> String {
        let inner = max(0, inner)
        let r = min(1, max(0, (ratio?.isFinite ?? false) ? ratio! : 0))
        let filled = min(inner, Int((r * Double(inner)).rounded(.down)))
        return "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: inner - filled) + "]"
    }

    /// The clock time a timestamp points at: `07:21:16` today, `Nov 29 07:21` later.
    public static func clock(_ timestamp: Double?, now: Double, timeZone: TimeZone = .current) -> String {
        guard let timestamp, timestamp.isFinite, abs(timestamp) < 1e12 else { return "-" }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let date = Date(timeIntervalSince1970: timestamp)
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = timeZone
        formatter.dateFormat = calendar.isDate(date, inSameDayAs: Date(timeIntervalSince1970: now)) ? "HH:mm:ss" : "MMM d HH:mm"
        return formatter.string(from: date)
    }

    /// The ETC (`45s`), or what an ended job or one with every item finished is.
    public static func etc(_ job: JobSummary) -> String {
        if job.status != "running" { return job.status }
        if job.allItemsFinished { return "all items finished" }
        return duration(job.etaSeconds)
    }

    /// The ETC's 80 % band: `30s-1m20s`, `30s-open` when a stalled item may never end; empty when
    /// there is none or the job no longer runs.
    public static func band(_ job: JobSummary) -> String {
        guard job.status == "running", !job.allItemsFinished, job.etaLowerSeconds != nil || job.etaUpperSeconds != nil else { return "" }
        return duration(job.etaLowerSeconds) + "-" + (job.isOpenAbove ? "open" : duration(job.etaUpperSeconds))
    }

    /// `waiting on agent-000 (item-611, no progress for 2m10s)`; nil when the job waits on nothing named.
    public static func waiting(_ job: JobSummary) -> String? {
        guard job.status == "running", let waitingOn = job.waitingOn, !waitingOn.isEmpty else { return nil }
        return "waiting on " + waitingOn.map { w in
            // How long without progress when stalled or a minute or more (the end of a healthy job waits on its last items too).
            let parts = (w.item.map { [sanitize($0)] } ?? []) + (w.stalled || w.noProgressSeconds >= 60 ? ["no progress for " + duration(w.noProgressSeconds)] : [])
            return sanitize(w.agent) + (parts.isEmpty ? "" : " (" + parts.joined(separator: ", ") + ")")
        }.joined(separator: ", ")
    }

    /// Progress as a percentage rounded down (`99%` for 199 of 200), so it never says 100 % while
    /// anything remains; `-` when unknown.
    public static func percent(_ ratio: Double?, remaining: Double? = nil, decimals: Int = 0) -> String {
        guard let ratio, ratio.isFinite else { return "-" }
        let scale = decimals == 0 ? 1.0 : 10.0
        var value = (min(1, max(0, ratio)) * 100 * scale).rounded(.down) / scale
        if value >= 100, let remaining, remaining > 0 { value = 100 - 1 / scale }
        return String(format: decimals == 0 ? "%.0f%%" : "%.1f%%", value)
    }

    /// `text` in at most `width` characters, cut in the middle (`etl-ni…-run2`): `tail` characters
    /// of its end are kept (by default half).
    public static func middleCut(_ text: String, _ width: Int, tail: Int? = nil) -> String {
        guard text.count > width else { return text }
        guard width > 1 else { return String(text.prefix(max(0, width))) }
        let tail = min(width - 1, max(0, tail ?? (width - 1) / 2)), head = width - 1 - tail
        return String(text.prefix(head)) + "…" + String(text.suffix(tail))
    }

    /// Names cut in the middle to `width`, at the same place in each, the place nearest the middle
    /// where names that differ stay different (`etl-nightly-r…1` and `…2`); in the middle when none.
    public static func cutApart(_ names: [String], _ width: Int) -> [String] {
        guard width > 1, names.contains(where: { $0.count > width }) else { return names.map { middleCut($0, width) } }
        let distinct = Set(names).count
        let middle = (width - 1) / 2
        for step in 0 ..< width {
            for tail in [middle - step, middle + step] where (0 ..< width).contains(tail) {
                let cut = names.map { middleCut($0, width, tail: tail) }
                if Set(cut).count == distinct { return cut }
            }
        }
        return names.map { middleCut($0, width) }
    }

    /// A column of the jobs table: its header and one cell per job.
    private struct Column {
        var header: String
        var cells: [String]
        var right = false
        var width: Int { max(header.count, cells.map(\.count).max() ?? 0) }
        func cell(_ text: String) -> String { TopRender.padded(text, width, right: right) }
    }

    /// The jobs table, header first: name, bar, percent, done/planned, left, rate, ETC, its band and
    /// the finish (an ended job's end). When the width is short the bar goes first, then whole columns
    /// (rate, band, left, finish), and only then are names cut, in the middle; the header keeps the
    /// data's columns at every width.
    static func jobTable(_ jobs: [JobSummary], width: Int, now: Double, timeZone: TimeZone) -> [String] {
        let names = jobs.map { sanitize($0.job) }
        var columns = [
            Column(header: "%", cells: jobs.map { percent($0.progressRatio, remaining: $0.remaining.map { Double($0) }) }, right: true),
            Column(header: "DONE", cells: jobs.map { count($0.finished) + "/" + ($0.planned.map { count($0) } ?? "?") }, right: true),
            Column(header: "LEFT", cells: jobs.map { count($0.remaining) }, right: true),
            Column(header: "RATE", cells: jobs.map { rate($0.hasEnded ? meanRate($0) : $0.throughput) }, right: true),
            Column(header: "ETC", cells: jobs.map { etc($0) }),
            Column(header: "80% BAND", cells: jobs.map { band($0) }),
            Column(header: "FINISH", cells: jobs.map { clock($0.endTime ?? $0.estimatedCompletion, now: now, timeZone: timeZone) }),
        ]
        let fullName = max(3, names.map(\.count).max() ?? 3)
        var nameWidth = min(fullName, max(12, width / 3))
        func othersWidth() -> Int { columns.reduce(0) { $0 + 1 + $1.width } }
        for header in ["RATE", "80% BAND", "LEFT", "FINISH"] where nameWidth + othersWidth() > width {
            columns.removeAll { $0.header == header }
        }
        if nameWidth + othersWidth() > width { nameWidth = max(min(fullName, 8), width - othersWidth()) }
        // The bar takes what is left, 10 to 50 cells inside its brackets (none when 10 do not fit);
        // then the names take the rest.
        var inner = min(50, width - nameWidth - othersWidth() - 3)
        if inner < 10 { inner = 0 }
        nameWidth = max(nameWidth, min(fullName, width - othersWidth() - (inner > 0 ? inner + 3 : 0)))
        let shownNames = cutApart(names, nameWidth)
        func line(_ name: String, _ bar: String?, _ cells: [String]) -> String {
            var text = padded(name, nameWidth)
            if inner >= 10, let bar { text += " " + padded(bar, inner + 2) }
            for (column, cell) in zip(columns, cells) { text += " " + column.cell(cell) }
            while text.hasSuffix(" ") { text.removeLast() }
            return fit(text, width)
        }
        var lines = [line("JOB", "PROGRESS", columns.map(\.header))]
        for (index, job) in jobs.enumerated() {
            lines.append(line(shownNames[index], bar(job.progressRatio, inner: inner), columns.map { $0.cells[index] }))
            if let waiting = waiting(job) { lines.append(fit(String(repeating: " ", count: nameWidth + 1) + waiting, width)) }
        }
        return lines
    }

    /// An ended job's items per second over its whole run; nil without its times.
    static func meanRate(_ job: JobSummary) -> Double? {
        guard job.startTime > 0, let end = job.endTime, end > job.startTime else { return nil }
        return Double(job.finished) / (end - job.startTime)
    }

    /// The first `width` characters of a line.
    public static func fit(_ line: String, _ width: Int) -> String {
        line.count <= width ? line : String(line.prefix(max(0, width)))
    }

    fileprivate static func padded(_ text: String, _ width: Int, right: Bool = false) -> String {
        let cut = fit(text, width)
        let fill = String(repeating: " ", count: max(0, width - cut.count))
        return right ? fill + cut : cut + fill
    }

    /// The jobs in the order shown: running first, then by name.
    public static func orderedJobs(_ state: TopState) -> [JobSummary] {
        state.jobs.values.sorted { a, b in
            let ar = a.status == "running", br = b.status == "running"
            return ar != br ? ar : a.job < b.job
        }
    }

    /// The agents worth a look, worst first: failing, then stalled, then running ones by how long they
    /// still need (longest first, then least progress).
    public static func troubledAgents(_ state: TopState, now: Double) -> [(agent: TopAgent, flag: String)] {
        func rank(_ a: TopAgent) -> Int { a.isFailing ? 0 : a.isStalled(now: now) ? 1 : a.state == "running" ? 2 : 3 }
        let shown = state.agents.values.filter { rank($0) < 3 }
        return shown.sorted { a, b in
            let ra = rank(a), rb = rank(b)
            if ra != rb { return ra < rb }
            let ea = a.etaSeconds ?? -1, eb = b.etaSeconds ?? -1
            if ea != eb { return ea > eb }
            let pa = a.progressRatio ?? 0, pb = b.progressRatio ?? 0
            if pa != pb { return pa < pb }
            return a.agent < b.agent
        }.map { ($0, rank($0) == 0 ? "failing" : rank($0) == 1 ? "stalled" : "") }
    }

    /// The screen: at most `height` lines of at most `width` characters each, with no control characters.
    public static func screen(_ state: TopState, width: Int, height: Int, now: Double, source: String, timeZone: TimeZone = .current) -> [String] {
        let width = max(1, width), height = max(1, height)
        var lines: [String] = []
        let status = state.connected ? "connected" : (state.message ?? "connecting")
        lines.append("\(sanitize(status))  \(clock(now, now: now, timeZone: timeZone))  \(sanitize(source))  progress-exporter top (q quits)")
        let jobs = orderedJobs(state)
        if jobs.isEmpty {
            lines.append(state.connected ? "no jobs yet" : "")
        } else {
            lines += jobTable(jobs, width: width, now: now, timeZone: timeZone)
        }
        if let agentJob = state.agentJob, let common = state.jobs[agentJob]?.mostCommonFailure, lines.count + 2 < height {
            lines.append(fit("most common error of \(sanitize(agentJob)): \(sanitize(common.reason)) (\(count(common.count)) of \(count(state.jobs[agentJob]?.failed)) failed attempts)", width))
        }
        if let agentJob = state.agentJob, lines.count + 2 < height {
            let troubled = troubledAgents(state, now: now)
            let running = state.agents.values.filter { $0.state == "running" }.count
            lines.append("")
            lines.append(fit("agents of \(sanitize(agentJob)): \(running) running, \(troubled.filter { !$0.flag.isEmpty }.count) stalled or failing; slowest first", width))
            let nameWidth = min(max(5, troubled.map { sanitize($0.agent.agent).count }.max() ?? 5), max(8, width / 4))
            let inner = min(20, max(0, width - nameWidth - 60))
            for (agent, flag) in troubled where lines.count < height {
                var line = padded(sanitize(agent.agent), nameWidth) + " " + padded(sanitize(agent.state), 10)
                if inner >= 5 { line += " " + bar(agent.progressRatio, inner: inner) }
                let pct = padded(percent(agent.progressRatio), 4, right: true)
                let quiet = agent.lastProgress.map { duration(max(0, now - $0)) } ?? "-"
                line += " \(pct) ETA \(padded(duration(agent.etaSeconds), 6)) quiet \(padded(quiet, 6)) fails \(count(agent.consecutiveFailures))/\(count(agent.failed))"
                if !flag.isEmpty { line += "  " + flag.uppercased() }
                lines.append(fit(line, width))
            }
        }
        return lines.prefix(height).map { fit($0, width) }
    }

    /// One plain line for a job (no escape codes): for output that is not a terminal.
    public static func summaryLine(_ job: JobSummary, now: Double, timeZone: TimeZone = .current) -> String {
        let pct = percent(job.progressRatio, remaining: job.remaining.map { Double($0) }, decimals: 1)
        var line = "job=\(quoted(sanitize(job.job))) status=\(quoted(sanitize(job.status))) done=\(count(job.finished))"
        line += " planned=\(job.planned.map { count($0) } ?? "-") remaining=\(count(job.remaining)) failed=\(count(job.failed))"
        if let common = job.mostCommonFailure { line += " top_error=\(quoted(sanitize(common.reason)))" }
        line += " progress=\(pct) throughput=\(rate(job.throughput)) etc=\(duration(job.etaSeconds))"
        line += " band=\(duration(job.etaLowerSeconds))..\(job.isOpenAbove ? "open" : duration(job.etaUpperSeconds)) finish=\(clock(job.endTime ?? job.estimatedCompletion, now: now, timeZone: timeZone))"
        if let waiting = waiting(job) { line += " waiting=\(quoted(waiting))" }
        return line
    }

    /// One plain line for an agent worth a look.
    public static func agentLine(_ agent: TopAgent, flag: String, job: String, now: Double) -> String {
        let pct = percent(agent.progressRatio, decimals: 1)
        var line = "job=\(quoted(sanitize(job))) agent=\(quoted(sanitize(agent.agent))) state=\(quoted(sanitize(agent.state)))"
        line += " progress=\(pct) eta=\(duration(agent.etaSeconds)) consecutive_failures=\(count(agent.consecutiveFailures))"
        if !flag.isEmpty { line += " flag=\(flag)" }
        return line
    }

    /// Quoted (with `\"` and `\\`) when empty or holding a space, a quote or `=`.
    static func quoted(_ text: String) -> String {
        guard text.isEmpty || text.contains(where: { $0 == " " || $0 == "\"" || $0 == "=" || $0 == "\\" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}
