import Foundation
import Synchronization
import Testing
@testable import ExporterApp

@Suite struct SharedRenderTests {
    @Test func scrapesThatArriveDuringARenderShareIt() {
        let shared = SharedRender<String, [UInt8]>()
        let renders = Atomic<Int>(0)
        let started = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let results = Mutex<[[UInt8]]>([])
        let finished = DispatchSemaphore(value: 0)
        // Threads, not a dispatch queue: a queue may hold the followers back while the leader blocks.
        func scrape() {
            Thread.detachNewThread {
                defer { finished.signal() }
                let bytes = shared.value(for: "text") {
                    let number = renders.add(1, ordering: .relaxed).newValue
                    if number == 1 {
                        started.signal()
                        release.wait()
                    }
                    return [UInt8(number)]
                }
                results.withLock { $0.append(bytes) }
            }
        }
        scrape()
        started.wait()
        for _ in 0..<7 { scrape() }
        // Give the seven time to find the render in flight before it ends.
        Thread.sleep(forTimeInterval: 0.5)
        release.signal()
        for _ in 0..<8 { finished.wait() }
        #expect(renders.load(ordering: .relaxed) == 1)
        #expect(results.withLock { $0 } == Array(repeating: [1], count: 8))
        #expect(shared.value(for: "text") { [9] } == [9], "a later scrape renders anew")
    }
}
