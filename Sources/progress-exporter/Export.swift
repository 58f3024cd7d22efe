import ArgumentParser
import ExporterApp

/// `progress-exporter export`: jobs (or a job's agents) as JSON or CSV, from a running exporter's
/// API or offline from a snapshot folder.
struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Export jobs (or with --agents, their agents) as JSON or CSV, from a running exporter or a --storage.path folder.",
        usage: "progress-exporter export [--format json|csv] (--url URL | --storage.path DIR) [--job JOB] [--agents | --failures]",
        discussion: """
            Give --url URL (a running exporter) or --storage.path DIR (an exporter's snapshot folder, read offline). \
            CSV follows RFC 4180: a header row, fields with quotes, commas or line breaks quoted, lines ending in CRLF, \
            absent values empty. JSON has the field names of /api/v1.
            """)

    enum Format: String, ExpressibleByArgument, CaseIterable { case json, csv }

    @Option(help: "Output format: json or csv.")
    var format = Format.json
    @Option(help: "URL of a running exporter (e.g. http://localhost:9465); its /api/v1 is read.")
    var url: String?
    @Option(help: "Only this job.")
    var job: String?
    @Flag(help: "The agents of the jobs (of --job, or of every job), one row each, instead of the jobs.")
    var agents = false
    @Flag(help: "The failures of the jobs instead: their last failed attempts and dead-lettered items, with time, agent, item and error.")
    var failures = false
    /// The command's own flags, hidden here: `--storage.path` is the exporter's flag, parsed by the
    /// command before the subcommand (an option of the same name here would never see its value).
    @OptionGroup(visibility: .hidden) var storage: StorageFlags
    var storagePath: String? { storage.storagePath }

    func validate() throws {
        switch (url, storagePath) {
        case (nil, nil): throw ValidationError("give --url URL (a running exporter) or --storage.path DIR (a snapshot folder)")
        case (_?, _?): throw ValidationError("give --url or --storage.path, not both")
        default: break
        }
        if agents && failures { throw ValidationError("give --agents or --failures, not both") }
    }

    func run() throws {
        let export: JobExport
        let part: JobExport.Part = failures ? .failures : agents ? .agents : .jobs
        if let url {
            export = try JobExport.fromURL(url, job: job, part: part)
        } else {
            export = try JobExport.fromSnapshot(folder: storagePath ?? "", job: job, part: part)
        }
        switch format {
        case .json: print(try export.json(), terminator: "")
        case .csv: print(export.csv(), terminator: "")
        }
    }
}
