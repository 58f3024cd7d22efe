import Glibc

/// The process's open-files limit (RLIMIT_NOFILE). As Go does at start (and so the exporter-toolkit's
/// servers), the soft limit is raised to the hard one: idle connections are then bounded by the
/// descriptors the system allows, not by a default of 1024.
struct OpenFilesLimit {
    let soft: UInt64

    /// Raises the soft limit to the hard one (when it can) and returns what it is then.
    static func raised() -> OpenFilesLimit {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return OpenFilesLimit(soft: 1024) }
        if limit.rlim_cur < limit.rlim_max {
            var wanted = limit
            wanted.rlim_cur = limit.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &wanted) == 0 { limit = wanted }
        }
        return OpenFilesLimit(soft: UInt64(limit.rlim_cur))
    }

    /// `--web.max-connections` when not given: the limit less 1,024 descriptors for files, the
    /// journal, alert deliveries and event sources; at least 64, at most 1,048,576.
    var defaultMaxConnections: Int {
        Int(min(max(soft, 1088) - 1024, 1 << 20))
    }
}
