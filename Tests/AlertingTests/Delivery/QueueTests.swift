import Testing
@testable import Alerting

extension DeliveryTests {
    @Suite struct Queue {
        private func agents(_ entries: [DeliveryQueue.Entry]) -> [String?] { entries.map { $0.notification.labels["agent"] } }

        @Test func fullQueueDropsTheOldest() {
            var queue = DeliveryQueue(capacity: 3)
            #expect(queue.append((1...2).map { DeliveryTests.notification(agent: "a\($0)") }, at: 0) == 0)
            #expect(queue.append((3...5).map { DeliveryTests.notification(agent: "a\($0)") }, at: 1) == 2)
            #expect(agents(queue.head(10)) == ["a3", "a4", "a5"])
        }

        @Test func headIsLeftInPlaceUntilRemoved() {
            var queue = DeliveryQueue(capacity: 10)
            _ = queue.append((1...5).map { DeliveryTests.notification(agent: "a\($0)") }, at: 0)
            let batch = queue.head(2)
            _ = queue.append([DeliveryTests.notification(agent: "a6")], at: 1)
            #expect(queue.count == 6)
            #expect(agents(queue.remove(batch)) == ["a1", "a2"])
            #expect(agents(queue.head(10)) == ["a3", "a4", "a5", "a6"])
        }

        @Test func sameAlertInSameStatusReplacesTheQueuedOneInPlace() {
            var queue = DeliveryQueue(capacity: 10)
            _ = queue.append([DeliveryTests.notification(agent: "a", summary: "old"), DeliveryTests.notification(agent: "b")], at: 0)
            _ = queue.append([DeliveryTests.notification(agent: "a", summary: "new")], at: 5)
            _ = queue.append([DeliveryTests.notification(agent: "a", status: .resolved)], at: 6)
            let head = queue.head(10)
            #expect(agents(head) == ["a", "b", "a"])
            #expect(head[0].notification.annotations["summary"] == "new")
            #expect(head[0].enqueuedAt == 0)
        }

        @Test func aReplacementDuringDeliveryStaysQueued() {
            var queue = DeliveryQueue(capacity: 10)
            _ = queue.append([DeliveryTests.notification(agent: "a", summary: "old"), DeliveryTests.notification(agent: "b")], at: 0)
            let batch = queue.head(2)
            _ = queue.append([DeliveryTests.notification(agent: "a", summary: "new")], at: 1)
            #expect(agents(queue.remove(batch)) == ["b"])
            #expect(queue.head(10).map { $0.notification.annotations["summary"] } == ["new"])
            _ = queue.append([DeliveryTests.notification(agent: "a", summary: "newer")], at: 2)
            #expect(queue.count == 1)
        }

        @Test func entriesDroppedDuringDeliveryAreNotRemovedTwice() {
            var queue = DeliveryQueue(capacity: 3)
            _ = queue.append((1...3).map { DeliveryTests.notification(agent: "a\($0)") }, at: 0)
            let batch = queue.head(2)
            #expect(queue.append([DeliveryTests.notification(agent: "a4")], at: 1) == 1)
            #expect(agents(queue.remove(batch)) == ["a2"])
            #expect(agents(queue.head(10)) == ["a3", "a4"])
            #expect(queue.removeAll() == 2)
            #expect(queue.isEmpty)
        }

        @Test func longRunsStayInOrder() {
            var queue = DeliveryQueue(capacity: 100)
            var delivered: [String?] = []
            for round in 0..<40 {
                _ = queue.append((0..<7).map { DeliveryTests.notification(agent: "r\(round)-\($0)") }, at: Double(round))
                delivered += agents(queue.remove(queue.head(5)))
            }
            delivered += agents(queue.remove(queue.head(1000)))
            #expect(delivered.count == 280)
            #expect(delivered.first == "r0-0")
            #expect(delivered.last == "r39-6")
        }
    }
}
