import ArgumentParser
import ExporterApp

/// `progress-exporter check-config FILE`: load a config as `serve` would and print it, or its error.
struct CheckConfig: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config", abstract: "Check an alerting config file and print what it loads, or the line and reason of its error.")

    @Argument(help: "The config file (YAML).") var file: String

    func run() throws {
        do {
            print(try Exporter.checkConfig(file))
        } catch {
            print("\(error)")
            throw ExitCode.failure
        }
    }
}
