/// The known names closest to a mistyped one, for "did you mean …?" in error messages: by edit
/// distance (insertions, deletions, substitutions), a name counts when it is within a third of its
/// length (at least 2), or when one name begins with the other.
public enum NearestNames {
    /// At most `count` names, the closest first; empty when none is close.
    public static func to(_ typed: String, among names: some Sequence<String>, count: Int = 3) -> [String] {
        let typed = Array(typed.lowercased().unicodeScalars.prefix(200))
        var scored: [(name: String, distance: Int)] = []
        for name in names {
            let candidate = Array(name.lowercased().unicodeScalars.prefix(200))
            let distance = editDistance(typed, candidate)
            let close = distance <= max(2, candidate.count / 3)
                || (typed.count >= 3 && (candidate.starts(with: typed) || typed.starts(with: candidate)))
            if close { scored.append((name, distance)) }
        }
        return scored.sorted { ($0.distance, $0.name) < ($1.distance, $1.name) }.prefix(count).map(\.name)
    }

    /// " (did you mean a or b?)", or "" when nothing is close.
    public static func suggestion(for typed: String, among names: some Sequence<String>) -> String {
        let nearest = to(typed, among: names)
        guard !nearest.isEmpty else { return "" }
        return " (did you mean \(nearest.joined(separator: " or "))?)"
    }

    static func editDistance(_ a: [Unicode.Scalar], _ b: [Unicode.Scalar]) -> Int {
        guard !a.isEmpty else { return b.count }
        guard !b.isEmpty else { return a.count }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}
