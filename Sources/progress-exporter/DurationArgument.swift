import ArgumentParser
import ExporterApp
import Events

/// A flag value in Prometheus's duration syntax (`30s`, `5m`, `1h`).
struct DurationArgument: ExpressibleByArgument {
    let seconds: Double

    init(seconds: Double) { self.seconds = seconds }

    init?(argument: String) {
        guard let seconds = PromDuration.parse(argument) else { return nil }
        self.seconds = seconds
    }

    var defaultValueDescription: String {
        let whole = Int(seconds)
        if whole % 3600 == 0 { return "\(whole / 3600)h" }
        if whole % 60 == 0 { return "\(whole / 60)m" }
        return "\(whole)s"
    }
}
