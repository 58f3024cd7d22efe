import Glibc

/// A file's identity on disk: what stays the same when it is renamed and changes when a new file takes its path.
struct FileIdentity: Hashable, Sendable {
    var device: UInt64
    var inode: UInt64
}

/// The parts of stat(2) the tailer looks at.
struct FileStatus {
    var identity: FileIdentity
    var size: Int64
    var isRegularFile: Bool
    var isDirectory: Bool

    /// Follows symlinks, so a link to a log is followed like the log.
    init?(path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        self.init(info)
    }

    init?(descriptor: Int32) {
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { return nil }
        self.init(info)
    }

    private init(_ info: stat) {
        identity = FileIdentity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
        size = Int64(info.st_size)
        isRegularFile = (info.st_mode & S_IFMT) == S_IFREG
        isDirectory = (info.st_mode & S_IFMT) == S_IFDIR
    }
}
