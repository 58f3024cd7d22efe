import Synchronization
import Tracking

/// Runs a `Simulation` on the store's clock and hands its events to the ingestor every 250 ms
/// (so the shard filter applies to them as to any other source).
final class DemoSource: Sendable {
    private let loop: UpkeepLoop

    init(options: DemoOptions, ingestor: Ingestor) {
        let simulation = Mutex(Simulation(options: options))
        loop = UpkeepLoop(interval: 0.25) {
            let now = ingestor.store.now
            let events = simulation.withLock { $0.advance(to: now) }
            ingestor.ingestEvents(events, source: "demo")
        }
    }

    func start() { loop.start() }
    func stop() { loop.stop() }
}
