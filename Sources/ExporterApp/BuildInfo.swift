import BuildRevision

/// The exporter's version and the commit it was built from, exported as `progress_exporter_build_info`.
public enum BuildInfo {
    public static let version = "0.1.0"

    /// The git commit the binary was built from (12 hex digits), `unknown` outside a git checkout.
    public static let revision = BuildRevision.value

    /// The Swift compiler the binary was built with (major.minor).
    public static let swiftVersion: String = {
        #if compiler(>=6.3)
        "6.3"
        #elseif compiler(>=6.2)
        "6.2"
        #elseif compiler(>=6.1)
        "6.1"
        #else
        "6.0"
        #endif
    }()

    /// `os/arch`, as Prometheus's `platform` (`linux/amd64` there, `linux/x86_64` here).
    public static let platform: String = {
        #if os(Linux)
        let os = "linux"
        #elseif os(macOS)
        let os = "darwin"
        #else
        let os = "unknown"
        #endif
        #if arch(x86_64)
        let arch = "x86_64"
        #elseif arch(arm64)
        let arch = "arm64"
        #else
        let arch = "unknown"
        #endif
        return os + "/" + arch
    }()

    /// Debug or release: what `swift build` was asked for.
    public static let buildConfiguration: String = {
        #if DEBUG
        "debug"
        #else
        "release"
        #endif
    }()

    /// What `progress-exporter --version` prints, in the shape of Prometheus's `--version`.
    public static var versionText: String {
        """
        progress-exporter, version \(version) (revision: \(revision))
          swift version: \(swiftVersion)
          platform: \(platform)
          build configuration: \(buildConfiguration)
        """
    }
}
