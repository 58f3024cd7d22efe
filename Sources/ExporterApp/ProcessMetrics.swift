import Exposition
import Foundation

/// The standard `process_*` metrics, read from /proc as Prometheus's client libraries do.
struct ProcessMetrics {
    static let cpu = MetricFamily("process_cpu_seconds_total", .counter, help: "Total user and system CPU time spent in seconds.")
    static let resident = MetricFamily("process_resident_memory_bytes", .gauge, help: "Resident memory size in bytes.")
    static let virtual = MetricFamily("process_virtual_memory_bytes", .gauge, help: "Virtual memory size in bytes.")
    static let startTime = MetricFamily("process_start_time_seconds", .gauge, help: "Start time of the process since unix epoch in seconds.")
    static let openFDs = MetricFamily("process_open_fds", .gauge, help: "Number of open file descriptors.")
    static let maxFDs = MetricFamily("process_max_fds", .gauge, help: "Maximum number of open file descriptors.")

    /// The fields of /proc/self/stat that the metrics need.
    struct Stat: Equatable {
        var userTicks: Double
        var systemTicks: Double
        var startTicks: Double
        var virtualBytes: Double
        var residentPages: Double
    }

    /// Parses /proc/[pid]/stat; the command name may hold spaces and parentheses, so fields count from the last ')'.
    static func parseStat(_ text: String) -> Stat? {
        guard let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // fields[0] is the state (field 3 of the man page); utime is field 14, so fields[11].
        guard fields.count > 21,
              let user = Double(fields[11]), let system = Double(fields[12]), let start = Double(fields[19]),
              let virtual = Double(fields[20]), let resident = Double(fields[21]) else { return nil }
        return Stat(userTicks: user, systemTicks: system, startTicks: start, virtualBytes: virtual, residentPages: resident)
    }

    /// Parses the `btime` line of /proc/stat: boot time in Unix seconds.
    static func parseBootTime(_ text: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix("btime ") {
            return Double(line.dropFirst("btime ".count).trimmingCharacters(in: .whitespaces))
        }
        return nil
    }

    private let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))
    private let pageSize = Double(sysconf(Int32(_SC_PAGESIZE)))
    private let bootTime = (try? String(contentsOfFile: "/proc/stat", encoding: .utf8)).flatMap(Self.parseBootTime)

    func collect(into w: inout ExpositionWriter) {
        if let text = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8), let stat = Self.parseStat(text) {
            w.family(Self.cpu)
            w.sample(Self.cpu, .empty, .empty, (stat.userTicks + stat.systemTicks) / ticksPerSecond)
            w.family(Self.resident)
            w.sample(Self.resident, .empty, .empty, stat.residentPages * pageSize)
            w.family(Self.virtual)
            w.sample(Self.virtual, .empty, .empty, stat.virtualBytes)
            if let bootTime {
                w.family(Self.startTime)
                w.sample(Self.startTime, .empty, .empty, bootTime + stat.startTicks / ticksPerSecond)
            }
        }
        if let fds = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") {
            w.family(Self.openFDs)
            w.sample(Self.openFDs, .empty, .empty, Double(fds.count))
        }
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 {
            w.family(Self.maxFDs)
            w.sample(Self.maxFDs, .empty, .empty, Double(limit.rlim_cur))
        }
    }
}
