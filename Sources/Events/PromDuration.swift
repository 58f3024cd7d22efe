/// Durations written as Prometheus writes them: `1h30m`, `5m`, `10s`, `250ms`, `1d`.
public enum PromDuration {
    /// Seconds, or nil when the text is not a duration.
    public static func parse(_ text: String) -> Double? {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400), ("w", 604_800), ("y", 31_536_000)]
        var rest = Substring(text)
        var total = 0.0
        guard !rest.isEmpty else { return nil }
        if rest == "0" { return 0 }
        while !rest.isEmpty {
            let digits = rest.prefix { $0.isASCII && $0.isNumber }
            guard !digits.isEmpty, let value = Double(digits) else { return nil }
            rest = rest.dropFirst(digits.count)
            // Longest unit first, so "ms" is not read as "m" followed by garbage.
            guard let unit = units.sorted(by: { $0.0.count > $1.0.count }).first(where: { rest.hasPrefix($0.0) }) else { return nil }
            rest = rest.dropFirst(unit.0.count)
            total += value * unit.1
        }
        return total
    }

    /// Seconds as Prometheus writes a duration: `1h30m`, `5m`, `250ms`, `1d`, `0s` (largest units
    /// first, each unit at most once, to the millisecond), so `parse(format(x)) == x` for whole milliseconds.
    public static func format(_ seconds: Double) -> String {
        var millis = Int64((seconds * 1000).rounded())
        guard millis != 0 else { return "0s" }
        var text = millis < 0 ? "-" : ""
        millis = abs(millis)
        let units: [(String, Int64)] = [("y", 31_536_000_000), ("w", 604_800_000), ("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1)]
        for (unit, size) in units where millis >= size {
            text += "\(millis / size)\(unit)"
            millis %= size
        }
        return text
    }
}
