import Synchronization

/// Something the exporter starts and stops: the HTTP server, each event source, the upkeep loop,
/// alerting.
public protocol Service: Sendable {
    var name: String { get }
    /// Starts the service; throws when it cannot run (the group then stops what it started).
    func start() throws
    /// Stops the service and waits for its threads; called once, after a successful start.
    func stop()
}

/// A service made of two closures, for parts that are not types of their own.
struct ClosureService: Service {
    let name: String
    let onStart: @Sendable () throws -> Void
    let onStop: @Sendable () -> Void

    init(_ name: String, start: @escaping @Sendable () throws -> Void, stop: @escaping @Sendable () -> Void) {
        self.name = name
        onStart = start
        onStop = stop
    }

    func start() throws { try onStart() }
    func stop() { onStop() }
}

/// Starts services in order and stops them in reverse. When one fails to start, the ones already
/// started are stopped and the error names the failing service.
public final class ServiceGroup: Sendable {
    public struct StartFailure: Error, CustomStringConvertible {
        public let service: String
        public let error: any Error
        public var description: String { "\(service): \(error)" }
    }

    private let services: [any Service]
    private let started = Mutex<[any Service]>([])

    public init(_ services: [any Service]) { self.services = services }

    public var names: [String] { services.map(\.name) }

    public func start() throws {
        for service in services {
            do {
                try service.start()
            } catch {
                stop()
                throw StartFailure(service: service.name, error: error)
            }
            started.withLock { $0.append(service) }
        }
    }

    /// Stops what was started, newest first; later calls do nothing.
    public func stop() {
        let running = started.withLock { started in
            defer { started = [] }
            return started
        }
        for service in running.reversed() { service.stop() }
    }
}
