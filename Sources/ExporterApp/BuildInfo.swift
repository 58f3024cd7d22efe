/// The exporter's version, exported as `progress_exporter_build_info`.
public enum BuildInfo {
    public static let version = "0.1.0"
}
