/// Lets at most `width` callers in at once, without holding a thread while others wait.
///
/// End-to-end tests all run at once as tasks; a hundred of them starting the exporter in the same
/// second took 16 s each on two cores, and their waits then timed out. Starts pass this gate a few
/// at a time, while tests already started go on.
public actor StartGate {
    private let width: Int
    private var inside = 0
    private var waiting: [CheckedContinuation<Void, Never>] = []

    public init(width: Int) { self.width = max(1, width) }

    /// Returns once fewer than `width` others are inside; call `leave()` after, on every path.
    public func enter() async {
        if inside < width {
            inside += 1
        } else {
            // The place is handed over by `leave()`, which does not lower the count.
            await withCheckedContinuation { waiting.append($0) }
        }
    }

    public func leave() {
        if waiting.isEmpty { inside -= 1 } else { waiting.removeFirst().resume() }
    }
}
