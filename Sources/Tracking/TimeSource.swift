import Foundation

/// Where the exporter's "now" comes from: the wall clock when live, a manual clock in tests.
public protocol TimeSource: Sendable {
    /// Unix seconds.
    func now() -> Double
}

/// The system's wall clock.
public struct WallClock: TimeSource {
    public init() {}
    public func now() -> Double { Date().timeIntervalSince1970 }
}
