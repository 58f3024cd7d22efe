import Foundation
import PackagePlugin

/// Writes `GitRevision.swift` (`enum GitRevision { static let value = "…" }`) into the target before
/// each build: the short commit of the package's checkout, or `unknown` outside a git checkout (a
/// source tarball). The file is replaced only when the revision changed, so a build without a new
/// commit compiles nothing again. `progress_exporter_build_info` and `--version` show it.
@main
struct GitRevisionPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let output = context.pluginWorkDirectoryURL.appending(path: "generated")
        let script = #"""
            r=$(git -C "$1" rev-parse --short=12 HEAD 2>/dev/null) || r=unknown
            case "$r" in *[!0-9a-f]*|"") r=unknown ;; esac
            mkdir -p "$2"
            printf 'enum GitRevision {\n    static let value = "%s"\n}\n' "$r" > "$2/../GitRevision.swift.new"
            cmp -s "$2/../GitRevision.swift.new" "$2/GitRevision.swift" || cp "$2/../GitRevision.swift.new" "$2/GitRevision.swift"
            rm -f "$2/../GitRevision.swift.new"
            """#
        return [
            .prebuildCommand(
                displayName: "Git revision for build_info",
                executable: URL(fileURLWithPath: "/bin/sh"),
                arguments: ["-c", script, "sh", context.package.directoryURL.path, output.path],
                outputFilesDirectory: output),
        ]
    }
}
