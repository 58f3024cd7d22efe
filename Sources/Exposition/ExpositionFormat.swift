/// The two Prometheus exposition formats the exporter writes, chosen by the scraper's Accept header.
public enum ExpositionFormat: Sendable, Equatable {
    /// Prometheus text format 0.0.4.
    case prometheusText
    /// OpenMetrics 1.0.0.
    case openMetrics

    public var contentType: String {
        switch self {
        case .prometheusText: return "text/plain; version=0.0.4; charset=utf-8"
        case .openMetrics: return "application/openmetrics-text; version=1.0.0; charset=utf-8"
        }
    }

    /// Picks OpenMetrics only when the Accept header names it with a non-zero quality,
    /// as Prometheus does; anything else (absent, `*/*`, `text/plain`) gets the text format.
    public static func negotiate(accept: String?) -> ExpositionFormat {
        guard let accept else { return .prometheusText }
        for part in accept.split(separator: ",") {
            let fields = part.split(separator: ";").map { $0.trimmingSpaces() }
            guard let mediaType = fields.first, mediaType == "application/openmetrics-text" else { continue }
            var quality = 1.0
            var version = "1.0.0"
            for parameter in fields.dropFirst() {
                let pair = parameter.split(separator: "=", maxSplits: 1).map { $0.trimmingSpaces() }
                guard pair.count == 2 else { continue }
                if pair[0] == "q" { quality = Double(pair[1]) ?? 0 }
                if pair[0] == "version" { version = String(pair[1]) }
            }
            // 0.0.1 is the draft Prometheus 2.x also offers; our output is valid for both.
            if quality > 0, version == "1.0.0" || version == "0.0.1" { return .openMetrics }
        }
        return .prometheusText
    }
}

extension Substring {
    fileprivate func trimmingSpaces() -> Substring {
        var s = self
        while s.first == " " || s.first == "\t" { s = s.dropFirst() }
        while s.last == " " || s.last == "\t" { s = s.dropLast() }
        return s
    }
}
