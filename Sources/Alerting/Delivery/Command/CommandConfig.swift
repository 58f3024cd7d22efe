/// A `command:` receiver's settings: the program to run for each batch and how long it may take.
public struct CommandConfig: Sendable, Equatable {
    /// The program and its arguments, run directly (no shell); a name without `/` is looked up in `PATH`.
    public var argv: [String]
    /// Seconds the program may run before it is stopped and the delivery counts as failed (and is retried).
    public var timeout: Double
    /// Seconds between SIGTERM and SIGKILL when the program overruns, so it can clean up.
    public var killGrace: Double

    public init(argv: [String], timeout: Double = 10, killGrace: Double = 2) {
        self.argv = argv
        self.timeout = timeout
        self.killGrace = killGrace
    }
}
