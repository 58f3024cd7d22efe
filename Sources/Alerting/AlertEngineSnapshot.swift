import Tracking

/// The alert engine's state for snapshots: every pending and firing alert with its `activeAt` and
/// `firedAt`, and when each receiver last heard of it (so re-sends keep their rhythm). Restored
/// alerts are not announced again; the next evaluation resolves those whose condition is gone.
extension AlertEngine {
    /// 2 added each alert's `keep_firing_for` and `clearedAt`; version 1 is still read.
    static let snapshotVersion: UInt32 = 2

    public func snapshot() -> [UInt8] {
        state.withLock { state in
            var w = BinaryWriter()
            w.u32(Self.snapshotVersion)
            w.array(state.machine.active.values.sorted { $0.condition.key < $1.condition.key }) { w, alert in
                Self.encode(alert.condition.labels, into: &w)
                Self.encode(alert.condition.templates, into: &w)
                Self.encode(alert.condition.templateValues.strings, into: &w)
                w.double(alert.condition.value)
                w.double(alert.condition.forDuration)
                w.string(alert.state.rawValue)
                w.double(alert.activeAt)
                w.optional(alert.firedAt) { $0.double($1) }
                Self.encode((state.lastSent[alert.condition.key] ?? [:]).mapValues { String($0) }, into: &w)
                w.double(alert.condition.keepFiringFor)
                w.optional(alert.clearedAt) { $0.double($1) }
            }
            return w.bytes
        }
    }

    /// Replaces the alert states with a snapshot's; on error nothing changes.
    public func restore(from bytes: [UInt8]) throws(BinaryReadError) {
        var r = BinaryReader(bytes)
        let version = try r.u32()
        guard version == 1 || version == Self.snapshotVersion else { throw BinaryReadError("alert state version \(version); this exporter reads \(Self.snapshotVersion)") }
        var lastSent: [AlertKey: [String: Double]] = [:]
        let alerts = try r.array(minimumSize: 40) { (r: inout BinaryReader) throws(BinaryReadError) -> AlertStateMachine.Active in
            let labels = try Self.decodeMap(from: &r)
            let condition = AlertCondition(
                labels: labels, templates: try Self.decodeMap(from: &r), templateValues: AnnotationValues(try Self.decodeMap(from: &r)),
                value: try r.double(), forDuration: try r.double())
            let stateText = try r.string()
            guard let state = AlertStateMachine.State(rawValue: stateText) else { throw BinaryReadError("unknown alert state \(stateText)") }
            var alert = AlertStateMachine.Active(
                condition: condition, state: state, activeAt: try r.double(),
                firedAt: try r.optional { (r: inout BinaryReader) throws(BinaryReadError) in try r.double() })
            let sent = try Self.decodeMap(from: &r).compactMapValues(Double.init)
            if version >= 2 {
                alert.condition.keepFiringFor = try r.double()
                alert.clearedAt = try r.optional { (r: inout BinaryReader) throws(BinaryReadError) in try r.double() }
            }
            if !sent.isEmpty { lastSent[condition.key] = sent }
            return alert
        }
        guard r.remaining == 0 else { throw BinaryReadError("\(r.remaining) bytes after the alert states") }
        state.withLock { state in
            state.machine = AlertStateMachine(restoring: alerts)
            state.lastSent = lastSent
            state.machineChanges = state.machine.changes
            state.activeVersion += 1
        }
    }

    /// One alert as the alert-state journal keeps it: what `restore` needs to continue it.
    public static func encodeAnnounced(_ alert: AlertStateMachine.Active) -> [UInt8] {
        var w = BinaryWriter()
        Self.encode(alert.condition.labels, into: &w)
        Self.encode(alert.condition.templates, into: &w)
        Self.encode(alert.condition.templateValues.strings, into: &w)
        w.double(alert.condition.value)
        w.double(alert.condition.forDuration)
        w.double(alert.condition.keepFiringFor)
        w.double(alert.activeAt)
        w.optional(alert.firedAt) { $0.double($1) }
        return w.bytes
    }

    public static func decodeAnnounced(_ bytes: [UInt8]) throws(BinaryReadError) -> AlertStateMachine.Active {
        var r = BinaryReader(bytes)
        let labels = try decodeMap(from: &r)
        let condition = AlertCondition(
            labels: labels, templates: try decodeMap(from: &r), templateValues: AnnotationValues(try decodeMap(from: &r)),
            value: try r.double(), forDuration: try r.double(), keepFiringFor: try r.double())
        let alert = AlertStateMachine.Active(
            condition: condition, state: .firing, activeAt: try r.double(),
            firedAt: try r.optional { (r: inout BinaryReader) throws(BinaryReadError) in try r.double() })
        guard r.remaining == 0 else { throw BinaryReadError("\(r.remaining) bytes after an announced alert") }
        return alert
    }

    /// After a restart: makes the alert states agree with what receivers were last told (the
    /// alert-state journal), which may be newer than the snapshot. Alerts announced as firing are
    /// firing with their `activeAt` (never announced again, nor with another `startsAt`); firing
    /// alerts whose resolve was announced are dropped.
    public func adoptAnnounced(_ firing: [AlertStateMachine.Active]) {
        state.withLock { state in
            state.machine.adopt(announced: firing)
            state.machineChanges = state.machine.changes
            state.activeVersion += 1
        }
    }

    private static func encode(_ map: [String: String], into w: inout BinaryWriter) {
        w.array(map.sorted { $0.key < $1.key }) { w, e in w.string(e.key); w.string(e.value) }
    }

    private static func decodeMap(from r: inout BinaryReader) throws(BinaryReadError) -> [String: String] {
        let pairs = try r.array(minimumSize: 8) { (r: inout BinaryReader) throws(BinaryReadError) in (try r.string(), try r.string()) }
        return Dictionary(pairs, uniquingKeysWith: { $1 })
    }
}
