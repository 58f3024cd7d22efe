import Synchronization
import Tracking

/// Runs a `Simulation` on the store's clock and applies its events to the store every 250 ms.
final class DemoSource: Sendable {
    private let loop: UpkeepLoop

    init(options: DemoOptions, store: ProgressStore, afterApply: @escaping @Sendable () -> Void) {
        let simulation = Mutex(Simulation(options: options))
        loop = UpkeepLoop(interval: 0.25) {
            let now = store.now
            let events = simulation.withLock { $0.advance(to: now) }
            store.apply(events, source: "demo")
            if !events.isEmpty { afterApply() }
        }
    }

    func start() { loop.start() }
    func stop() { loop.stop() }
}
