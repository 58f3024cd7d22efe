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

    /// For `@Option(transform:)`: a value that is not a duration is refused with the syntax it needs
    /// (ArgumentParser prints "The value '5 minutes' is invalid for '--jobs.retention <...>': ...").
    static func parse(_ argument: String) throws -> DurationArgument {
        guard let value = DurationArgument(argument: argument) else { throw ValidationError(syntax) }
        return value
    }

    static let syntax = "not a duration; use Prometheus's syntax, a number and a unit, e.g. 30s, 5m, 1h30m (units ms, s, m, h, d, w, y)"

    var defaultValueDescription: String { PromDuration.format(seconds) }
}
