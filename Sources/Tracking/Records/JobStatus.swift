/// Where a job is in its life, as its events tell.
public enum JobStatus: String, Sendable, CaseIterable {
    case running, paused, completed, failed, cancelled

    public var hasEnded: Bool { self == .completed || self == .failed || self == .cancelled }
}
