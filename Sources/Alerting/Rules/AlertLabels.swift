import Tracking

/// The label names of the built-in alerts, and how config names them.
enum AlertLabels {
    /// The tracker's job id, as on the job and agent series.
    static let job = ProgressLabel.job
    static let agent = ProgressLabel.agent
    /// The job label's name until 2026-11, still accepted in `match` and `group_by`.
    static let deprecatedJob = "job"

    /// The value config means by `name` in a route's `match` or a webhook's `group_by`: the alert's own
    /// label; for `job` on an alert without a `job` label of its own (one a rule's `labels` may add),
    /// its `job_name`, so configs written before the rename keep working.
    static func value(_ name: String, in labels: [String: String]) -> String? {
        if let value = labels[name] { return value }
        return name == deprecatedJob ? labels[job] : nil
    }
}
