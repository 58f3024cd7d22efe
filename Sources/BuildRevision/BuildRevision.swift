/// The git commit the binary was built from (short, 12 hex digits), or `unknown` when it was built
/// outside a git checkout; written by the GitRevision build plugin.
public enum BuildRevision {
    public static let value = GitRevision.value
}
