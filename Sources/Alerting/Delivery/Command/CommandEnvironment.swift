/// The `ALERT_*` variables a command sees, taken from the batch's first alert, so a one-line script needs no JSON parser.
enum CommandEnvironment {
    static func variables(for batch: [AlertNotification]) -> [String: String] {
        let first = batch.first
        return [
            "ALERT_STATUS": first?.status.rawValue ?? "",
            "ALERT_NAME": first?.labels["alertname"] ?? "",
            "ALERT_SEVERITY": first?.labels["severity"] ?? "",
            // The variable keeps its name; the label it reads is `job_name` since 2026-11.
            "ALERT_JOB": first?.labels[AlertLabels.job] ?? "",
            "ALERT_AGENT": first?.labels[AlertLabels.agent] ?? "",
            "ALERT_SUMMARY": first?.annotations["summary"] ?? "",
            "ALERT_COUNT": String(batch.count),
        ]
    }
}
