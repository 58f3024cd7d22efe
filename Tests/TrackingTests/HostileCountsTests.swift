import Events
import Testing
@testable import Tracking

/// Counts from input near Int64's limits used to trap on overflow in the job record.
@Suite struct HostileCountsTests {
    @Test func plannedItemsSaturateInsteadOfTrapping() throws {
        let store = ProgressStore(clock: ManualClock())
        store.apply([
            E.jobStarted("j", total: .max - 1),
            E.itemsAdded("j", .max),
            E.itemsAdded("j", .max),
        ], source: "test")
        let summary = try #require(store.jobSummaries().first)
        #expect(summary.planned == .max)
        #expect(summary.remaining == .max)
    }

    @Test func addedItemsAloneSaturate() throws {
        let store = ProgressStore(clock: ManualClock())
        store.apply([E.itemsAdded("j", .max), E.itemsAdded("j", 5)], source: "test")
        #expect(try #require(store.jobSummaries().first).planned == .max)
    }

    @Test func saturatingSumKeepsOrdinarySums() {
        #expect(JobRecord.saturatingSum(40, 2) == 42)
        #expect(JobRecord.saturatingSum(.max, 1) == .max)
    }
}
