import ArgumentParser
import ExporterApp

// `--log.level` and `--log.format` take their enums' raw values; a wrong one is refused with the list.
extension LogLevel: ExpressibleByArgument {}
extension LogFormat: ExpressibleByArgument {}
