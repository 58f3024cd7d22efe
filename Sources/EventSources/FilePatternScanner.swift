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

    /// Candidate paths, each with the indices of the patterns that name it.
    ///
    /// A plain path is a candidate even while nothing exists there, so the tailer notices
    /// its creation at the next poll rather than the next scan.
    func scan() -> [String: [Int]] {
        var candidates: [String: [Int]] = [:]
        for (index, pattern) in patterns.enumerated() {
            for path in paths(for: pattern) where candidates[path]?.last != index {
                candidates[path, default: []].append(index)
            }
        }
        return candidates
    }

    private func paths(for pattern: String) -> [String] {
        let named = Self.isGlob(pattern) ? Self.glob(pattern) : [pattern]
        var paths: [String] = []
        for path in named {
            if let status = FileStatus(path: path), status.isDirectory {
                Self.collectJSONL(in: path, depth: 0, into: &paths)
            } else {
                paths.append(path)
            }
        }
        return paths
    }

    static func isGlob(_ pattern: String) -> Bool {
        pattern.contains { $0 == "*" || $0 == "?" || $0 == "[" }
    }

    private static func glob(_ pattern: String) -> [String] {
        var result = glob_t()
        defer { globfree(&result) }
        // GLOB_NOMATCH and read errors alike mean "nothing matches now"; the next scan retries.
        guard Glibc.glob(pattern, 0, nil, &result) == 0 else { return [] }
        return (0..<Int(result.gl_pathc)).compactMap { index in
            result.gl_pathv[index].map { String(cString: $0) }
        }
    }

    private static func collectJSONL(in folder: String, depth: Int, into paths: inout [String]) {
        guard depth < maxDepth, let directory = opendir(folder) else { return }
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
                collectJSONL(in: path, depth: depth + 1, into: &paths)
            case Int32(DT_REG), Int32(DT_LNK):
                if name.hasSuffix(".jsonl") { paths.append(path) }
            case Int32(DT_UNKNOWN):
                // Some file systems do not fill d_type; lstat keeps symlinked folders unfollowed.
                var info = stat()
                guard lstat(path, &info) == 0 else { continue }
                if (info.st_mode & S_IFMT) == S_IFDIR {
                    collectJSONL(in: path, depth: depth + 1, into: &paths)
                } else if name.hasSuffix(".jsonl") {
                    paths.append(path)
                }
            default:
                continue
            }
        }
    }
}
