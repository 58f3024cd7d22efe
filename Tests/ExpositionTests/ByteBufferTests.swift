import Testing
@testable import Exposition

@Suite struct ByteBufferTests {
    @Test func growsPastItsCapacityAndKeepsEveryByte() {
        let buffer = ByteBuffer(capacity: 64)
        let chunk = Array(0..<100).map { UInt8($0) }
        for _ in 0..<50 { buffer.append(chunk) }
        buffer.append(UInt8(7))
        #expect(buffer.count == 5_001)
        #expect(buffer.array == Array(repeating: chunk, count: 50).flatMap { $0 } + [7])
    }

    @Test func removeAllEmptiesAndTheNextWritesStartAtZero() {
        let buffer = ByteBuffer(capacity: 64)
        buffer.append(Array("first scrape, a longer one".utf8))
        buffer.removeAll()
        buffer.append(Array("second".utf8))
        #expect(String(decoding: buffer.array, as: UTF8.self) == "second")
    }

    @Test func sectionsWriteTheSameLinesAsTheWriter() {
        let family = MetricFamily("demo_items_total", .counter, help: "Items.")
        let labels = LabelSet([("job_name", "etl")])
        let section = SampleSection(capacity: 64)
        var writer = ExpositionWriter(format: .prometheusText)
        for value in [0, 1.5, -3, 1e-9, .nan, .infinity] {
            section.sample(family, labels, LabelSet([("outcome", "completed")]), value)
            writer.sample(family, labels, LabelSet([("outcome", "completed")]), value)
        }
        let written = writer.finish()
        #expect(section.bytes == written)
        #expect(String(decoding: section.bytes, as: UTF8.self).hasPrefix("demo_items_total{job_name=\"etl\",outcome=\"completed\"} 0\n"))
    }
}
