import Glibc

/// Expands `--events.file` patterns (a path, a glob(3) pattern, or a folder) into candidate file paths.
///
/// A folder stands for every `*.jsonl` file at any depth below it, which covers prodigy's
/// `<events home>/<repo>/<run id>/events-<stamp>.jsonl`. Rotated names such as `x.jsonl.1`
/// or `x.jsonl.gz` do not end in `.jsonl`, so a folder never picks them up as new files.
struct FilePatternScanner {
    /// Symlinked folders are not followed, so this only guards against absurdly deep trees.
    private static let maxDepth = 32

    let patterns: [String]

    /// What one scan found.
    struct Scan {
        /// Candidate paths, each with the indices of the patterns that name it.
        var candidates: [String: [Int]] = [:]
        /// Per pattern index, the first thing that could not be read (a folder without read
        /// permission, a path whose folder cannot be searched), e.g. "cannot read folder /x: Permission denied".
        var problems: [Int: String] = [:]
    }

    /// Candidate paths, each with the indices of the patterns that name it, and what could not be read.
    ///
    /// A plain path is a candidate even while nothing exists there, so the tailer notices
    /// its creation at the next poll rather than the next scan.
    func scan() -> Scan {
        var result = Scan()
        for (index, pattern) in patterns.enumerated() {
            var problem: String?
            for path in paths(for: pattern, problem: &problem) where result.candidates[path]?.last != index {
                result.candidates[path, default: []].append(index)
            }
            result.problems[index] = problem
        }
        return result
    }

    private func paths(for pattern: String, problem: inout String?) -> [String] {
        let named = Self.isGlob(pattern) ? Self.glob(pattern, problem: &problem) : [pattern]
        var paths: [String] = []
        for path in named {
            var info = stat()
            if stat(path, &info) != 0 {
                let error = errno
                // A missing file is waited for; anything else (EACCES on a folder above it) is said.
                if error != ENOENT && problem == nil { problem = "cannot stat \(path): " + String(cString: strerror(error)) }
                paths.append(path)
            } else if (info.st_mode & S_IFMT) == S_IFDIR {
                Self.collectJSONL(in: path, depth: 0, into: &paths, problem: &problem)
            } else {
                paths.append(path)
            }
        }
        return paths
    }

    static func isGlob(_ pattern: String) -> Bool {
        pattern.contains { $0 == "*" || $0 == "?" || $0 == "[" }
    }

    private static func glob(_ pattern: String, problem: inout String?) -> [String] {
        var result = glob_t()
        defer { globfree(&result) }
        // Nothing matching is "nothing matches now" (the next scan retries) unless a folder on the
        // way could not be read: a second pass with GLOB_ERR tells the two apart.
        guard Glibc.glob(pattern, 0, nil, &result) == 0 else {
            var strict = glob_t()
            defer { globfree(&strict) }
            errno = 0
            if Glibc.glob(pattern, GLOB_ERR, nil, &strict) == GLOB_ABORTED {
                let reason = errno == 0 ? "read error" : String(cString: strerror(errno))
                problem = "cannot read a folder the pattern goes through: " + reason
            }
            return []
        }
        return (0..<Int(result.gl_pathc)).compactMap { index in
            result.gl_pathv[index].map { String(cString: $0) }
        }
    }

    private static func collectJSONL(in folder: String, depth: Int, into paths: inout [String], problem: inout String?) {
        guard depth < maxDepth else { return }
        guard let directory = opendir(folder) else {
            let error = errno
            if problem == nil { problem = "cannot read folder \(folder): " + String(cString: strerror(error)) }
            return
        }
        defer { closedir(directory) }
        let prefix = folder.hasSuffix("/") ? folder : folder + "/"
        while let entry = readdir(directory) {
            let name = withUnsafePointer(to: entry.pointee.d_name) { pointer in
                pointer.withMemoryRebound(to: CChar.self, capacity: MemoryLayout.size(ofValue: pointer.pointee)) {
                    String(cString: $0)
                }
            }
            if name == "." || name == ".." { continue }
            let path = prefix + name
            switch Int32(entry.pointee.d_type) {
            case Int32(DT_DIR):
                collectJSONL(in: path, depth: depth + 1, into: &paths, problem: &problem)
            case Int32(DT_REG), Int32(DT_LNK):
                if name.hasSuffix(".jsonl") { paths.append(path) }
            case Int32(DT_UNKNOWN):
                // Some file systems do not fill d_type; lstat keeps symlinked folders unfollowed.
                var info = stat()
                guard lstat(path, &info) == 0 else { continue }
                if (info.st_mode & S_IFMT) == S_IFDIR {
                    collectJSONL(in: path, depth: depth + 1, into: &paths, problem: &problem)
                } else if name.hasSuffix(".jsonl") {
                    paths.append(path)
                }
            default:
                continue
            }
        }
    }
}
