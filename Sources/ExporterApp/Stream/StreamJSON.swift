import Tracking

/// The stream's JSON for jobs and agents, written by hand: the same fields and names as the API's
/// `JSONEncoder` output, several times faster, which matters when a loop encodes every change ten
/// times a second. Non-finite numbers become `null`; strings are escaped as JSON requires.
enum StreamJSON {
    static func job(_ j: JobSummary, into out: inout [UInt8]) {
        var w = Writer(out: [])
        swap(&w.out, &out)
        w.open()
        w.key("agents"); w.object(j.agents)
        w.key("all_items_finished"); w.bool(j.allItemsFinished)
        w.key("completed"); w.number(j.completed)
        w.key("dead_lettered"); w.number(j.deadLettered)
        if let v = j.deadline { w.key("deadline"); w.number(v) }
        if let v = j.estimatedCompletion { w.key("estimated_completion_timestamp"); w.number(v) }
        if let v = j.etaLowerSeconds { w.key("eta_lower_bound_seconds"); w.number(v) }
        if let v = j.etaSeconds { w.key("eta_seconds"); w.number(v) }
        if let v = j.etaUpperSeconds {
            w.key("eta_upper_bound_seconds"); w.number(v)
        } else if j.etaSeconds != nil {
            w.key("eta_upper_bound_seconds"); w.number(Double.nan)   // open above: null
        }
        w.key("failed"); w.number(j.failed)
        w.key("finished"); w.number(j.finished)
        if let v = j.finishedWork { w.key("finished_work"); w.number(v) }
        w.key("job"); w.string(j.job)
        w.key("last_event_timestamp"); w.number(j.lastEventTime)
        if let v = j.mostCommonFailure {
            w.key("most_common_failure"); w.open()
            w.key("count"); w.number(v.count)
            w.key("reason"); w.string(v.reason)
            w.close()
        }
        if let v = j.planned { w.key("planned"); w.number(v) }
        if let v = j.plannedWork { w.key("planned_work"); w.number(v) }
        if let v = j.progressRatio { w.key("progress_ratio"); w.number(v) }
        if let v = j.remaining { w.key("remaining"); w.number(v) }
        w.key("retries"); w.number(j.retries)
        w.key("start_timestamp"); w.number(j.startTime)
        w.key("status"); w.string(j.status)
        w.key("throughput"); w.number(j.throughput)
        w.key("throughput_by_window"); w.object(j.throughputByWindow)
        if let waiting = j.waitingOn {
            w.key("waiting_on"); w.raw("[")
            for (i, item) in waiting.enumerated() {
                if i > 0 { w.raw(",") }
                w.open()
                w.key("agent"); w.string(item.agent)
                if let v = item.item { w.key("item"); w.string(v) }
                w.key("no_progress_seconds"); w.number(item.noProgressSeconds)
                w.key("stalled"); w.raw(item.stalled ? "true" : "false")
                w.close()
            }
            w.raw("]")
        }
        if let v = j.workPerSecond { w.key("work_per_second"); w.number(v) }
        w.close()
        swap(&w.out, &out)
    }

    static func agent(_ a: AgentSummary, into out: inout [UInt8]) {
        var w = Writer(out: [])
        swap(&w.out, &out)
        w.open()
        w.key("agent"); w.string(a.agent)
        w.key("completed"); w.number(a.completed)
        w.key("consecutive_failures"); w.number(a.consecutiveFailures)
        if let v = a.etaSeconds { w.key("eta_seconds"); w.number(v) }
        w.key("failed"); w.number(a.failed)
        if let v = a.item { w.key("item"); w.string(v) }
        if let v = a.lastProgress { w.key("last_progress_timestamp"); w.number(v) }
        w.key("last_seen_timestamp"); w.number(a.lastSeen)
        if let v = a.progressRatio { w.key("progress_ratio"); w.number(v) }
        w.key("retries"); w.number(a.retries)
        w.key("state"); w.string(a.state)
        if let v = a.step { w.key("step"); w.string(v) }
        w.close()
        swap(&w.out, &out)
    }

    struct Writer {
        var out: [UInt8]
        private var first = true

        init(out: [UInt8]) { self.out = out }

        mutating func open() { out.append(UInt8(ascii: "{")); first = true }
        mutating func close() { out.append(UInt8(ascii: "}")) }

        mutating func key(_ name: StaticString) {
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            out.append(UInt8(ascii: "\""))
            name.withUTF8Buffer { out.append(contentsOf: $0) }
            out.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: ":")])
        }

        mutating func number(_ value: Double) {
            if value.isFinite {
                // Integral values as integers (as JSONEncoder writes them), others in Swift's shortest form.
                if value == value.rounded(), abs(value) < 1e15 {
                    out.append(contentsOf: String(Int64(value)).utf8)
                } else {
                    out.append(contentsOf: value.description.utf8)
                }
            } else {
                out.append(contentsOf: "null".utf8)
            }
        }

        mutating func number<T: BinaryInteger>(_ value: T) { out.append(contentsOf: String(value).utf8) }

        mutating func bool(_ value: Bool) { out.append(contentsOf: (value ? "true" : "false").utf8) }
        /// Text written as it is: punctuation and literals.
        mutating func raw(_ text: StaticString) { text.withUTF8Buffer { out.append(contentsOf: $0) } }

        mutating func object(_ values: [String: Int]) { object(values) { $0.number($1) } }

        mutating func object(_ values: [String: Double]) { object(values) { $0.number($1) } }

        /// `{"key":value,...}` with the keys in order.
        private mutating func object<Value>(_ values: [String: Value], writing write: (inout Self, Value) -> Void) {
            out.append(UInt8(ascii: "{"))
            for (index, entry) in values.sorted(by: { $0.key < $1.key }).enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                string(entry.key)
                out.append(UInt8(ascii: ":"))
                write(&self, entry.value)
            }
            out.append(UInt8(ascii: "}"))
        }

        static let hex = Array("0123456789abcdef".utf8)

        mutating func string(_ text: String) {
            out.append(UInt8(ascii: "\""))
            let hex = Self.hex
            for byte in text.utf8 {
                switch byte {
                case UInt8(ascii: "\""): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
                case UInt8(ascii: "\\"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
                case 0x0A: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
                case 0x0D: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
                case 0x09: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
                case 0 ..< 0x20:
                    out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
                default: out.append(byte)
                }
            }
            out.append(UInt8(ascii: "\""))
        }
    }
}
