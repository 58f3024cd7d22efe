/// Durations as operators read them in a page or a table: `40s`, `6m 12s`, `2h 5m`.
public enum DurationText {
    public static func short(_ seconds: Double) -> String {
        let total = Int(seconds.rounded())
        if total >= 3600 { return "\(total / 3600)h \(total % 3600 / 60)m" }
        if total >= 60 { return "\(total / 60)m \(total % 60)s" }
        return "\(total)s"
    }
}
