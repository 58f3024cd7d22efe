import Foundation

/// Where the exporter's "now" comes from: the wall clock when live, a manual clock in tests, the log's
/// own time in a replay. Everything that stamps or compares event time takes one of these; nothing
/// else in the program reads the date.
public protocol TimeSource: Sendable {
    /// Unix seconds (for `MonotonicClock`: seconds from an arbitrary start, only differences mean anything).
    func now() -> Double
}

/// The system's wall clock: the only place the program reads the date.
public struct WallClock: TimeSource {
    public init() {}
    public func now() -> Double { Date().timeIntervalSince1970 }
}
