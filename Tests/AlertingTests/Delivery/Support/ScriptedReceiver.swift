import Foundation
import Synchronization
@testable import Alerting

extension DeliveryTests {
    /// A receiver that records each batch and answers from a script of outcomes (then succeeds); it can be held inside
    /// `deliver` to play a stuck receiver.
    final class ScriptedReceiver: AlertReceiver {
        private struct State {
            var outcomes: [DeliveryError?]
            var batches: [[AlertNotification]] = []
            var held = false
            var inside = 0
            var cancelled = false
        }

        let name: String
        private let state: Mutex<State>

        init(name: String = "scripted", outcomes: [DeliveryError?] = []) {
            self.name = name
            state = Mutex(State(outcomes: outcomes))
        }

        func deliver(_ batch: [AlertNotification]) throws(DeliveryError) {
            state.withLock { $0.inside += 1 }
            while state.withLock({ $0.held && !$0.cancelled }) { Thread.sleep(forTimeInterval: 0.005) }
            let outcome = state.withLock { state -> DeliveryError? in
                state.inside -= 1
                if state.cancelled { return DeliveryError(retryable: true, "cancelled") }
                state.batches.append(batch)
                return state.outcomes.isEmpty ? nil : state.outcomes.removeFirst()
            }
            if let outcome { throw outcome }
        }

        /// Ends a held delivery (it fails) and fails later ones, as the HTTP receivers do.
        func cancelDeliveries() { state.withLock { $0.cancelled = true } }
        var wasCancelled: Bool { state.withLock { $0.cancelled } }

        /// Makes the next deliveries wait until `release()`.
        func hold() { state.withLock { $0.held = true } }
        func release() { state.withLock { $0.held = false } }
        /// Whether a delivery is waiting inside `deliver`.
        var isInside: Bool { state.withLock { $0.inside > 0 } }
        /// Batches that finished, successful or not.
        var batches: [[AlertNotification]] { state.withLock { $0.batches } }
    }
}
