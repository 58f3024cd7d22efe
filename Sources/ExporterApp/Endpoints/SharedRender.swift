import Foundation
import Synchronization

/// Lets concurrent scrapes share one render: a scrape that arrives while a render of the same key
/// runs waits for it and gets the same result, so ten scrapers cost one render, not ten.
final class SharedRender<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private final class Flight: @unchecked Sendable {
        let condition = NSCondition()
        var result: Value?
    }

    private let flights = Mutex<[Key: Flight]>([:])

    init() {}

    func value(for key: Key, render: () -> Value) -> Value {
        let (flight, leads) = flights.withLock { flights -> (Flight, Bool) in
            if let running = flights[key] { return (running, false) }
            let flight = Flight()
            flights[key] = flight
            return (flight, true)
        }
        if leads {
            let result = render()
            flights.withLock { $0[key] = nil }
            flight.condition.lock()
            flight.result = result
            flight.condition.broadcast()
            flight.condition.unlock()
            return result
        }
        flight.condition.lock()
        defer { flight.condition.unlock() }
        while flight.result == nil { flight.condition.wait() }
        return flight.result!
    }
}
