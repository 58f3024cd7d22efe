// `progress-bench storage`: what a snapshot costs at 10k and 100k agents. The capture holds the
// store's lock (the pause ingestion and scrapes see); the write happens outside it.
import Foundation
import Events
import Tracking

func benchStorage() {
    print("## Snapshots (--storage.path): capture under the lock, write + fsync outside it, restore")
    print("| agents | capture ms (lock held) median of 5 | write + fsync ms | bytes | bytes/agent | restore ms |")
    print("|---|---|---|---|---|---|")
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bench-storage-\(UUID().uuidString)")
    try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    for agents in [10_000, 100_000] {
        let s = store(agents: agents)
        var captures: [Double] = []
        var bytes: [UInt8] = []
        for _ in 0..<5 { captures.append(seconds { bytes = s.snapshot().bytes }) }
        captures.sort()
        let path = folder.appendingPathComponent("state.snap").path
        let write = seconds {
            _ = FileManager.default.createFile(atPath: path, contents: nil)
            let handle = FileHandle(forWritingAtPath: path)!
            handle.write(Data(bytes))
            try? handle.synchronize()
            try? handle.close()
        }
        let copy = ProgressStore()
        let restore = seconds { try? Ingestor(store: copy, limits: DecoderLimits()).restore(from: bytes) }
        print("| \(agents) | \(String(format: "%.1f", captures[2] * 1000)) | \(String(format: "%.1f", write * 1000)) | \(bytes.count) | \(bytes.count / agents) | \(String(format: "%.1f", restore * 1000)) |")
    }
}
