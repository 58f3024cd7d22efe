import Events
import Exposition

/// Label names the job and agent series and the built-in alerts share (SPEC section 4).
public enum ProgressLabel {
    /// The tracker's job id. Not `job`: Prometheus sets `job` to the scrape target's job, and an
    /// exporter's own `job` would be renamed `exported_job` unless the scrape sets `honor_labels`.
    /// (Until 2026-11 the label was `job`.)
    public static let job = "job_name"
    /// The agent (worker) id, unique within its job.
    public static let agent = "agent"
}

/// Every family the store exports, declared together so names, types and help live in one place.
enum ProgressMetrics {
    static let jobInfo = MetricFamily("progress_job_info", .gauge, help: "Always 1; the job's status as a label.")
    static let jobItems = MetricFamily("progress_job_items", .gauge, help: "Planned work items of the job (announced total plus items added later).")
    static let jobRemaining = MetricFamily("progress_job_items_remaining", .gauge, help: "Planned items not yet finished.")
    static let jobProcessed = MetricFamily("progress_job_items_processed_total", .counter, help: "Item outcome events of the job: completed, failed attempts, dead-lettered.")
    static let jobRetries = MetricFamily("progress_job_retries_total", .counter, help: "Retries announced by the job's agents.")
    static let jobRatio = MetricFamily("progress_job_progress_ratio", .gauge, help: "Finished items over planned items (0..1).")
    static let jobThroughput = MetricFamily("progress_job_throughput_items_per_second", .gauge, help: "Finished items per second over a rolling window of event times.")
    static let jobETA = MetricFamily("progress_job_eta_seconds", .gauge, help: "Estimated seconds until every planned item is finished; absent while unknown.")
    static let jobETALower = MetricFamily("progress_job_eta_lower_bound_seconds", .gauge, help: "Lower end of the ETC's 80 % interval, in seconds; absent while the ETC is.")
    static let jobETAUpper = MetricFamily("progress_job_eta_upper_bound_seconds", .gauge, help: "Upper end of the ETC's 80 % interval, in seconds; absent while the ETC is, and while the job waits on a stalled item (open above).")
    static let jobCompletion = MetricFamily("progress_job_estimated_completion_timestamp_seconds", .gauge, help: "Estimated Unix time at which the job finishes; once every planned item has finished, when its last item did; absent while unknown.")
    static let jobWorkPlanned = MetricFamily("progress_job_work_planned", .gauge, help: "Planned work of the job (total_work: bytes, rows, tokens), when the tracker gives it.")
    static let jobWorkFinished = MetricFamily("progress_job_work_finished", .gauge, help: "Work of the job's finished items (their work), when the tracker gives a planned total.")
    static let jobDeadline = MetricFamily("progress_job_deadline_timestamp_seconds", .gauge, help: "Deadline of the job in Unix time, when one was given.")
    static let jobAgents = MetricFamily("progress_job_agents", .gauge, help: "Agents of the job by state (all agents, not only sampled ones).")
    static let jobSuccess = MetricFamily("progress_job_success_ratio", .gauge, help: "Completed items over completed items plus failed attempts in a rolling window.")
    static let jobDuration = MetricFamily("progress_job_item_duration_seconds", .histogram, help: "Time agents took to complete an item.")
    static let jobStart = MetricFamily("progress_job_start_timestamp_seconds", .gauge, help: "Unix time the job started (its job_started event, or its first event).")
    static let jobFailureReasons = MetricFamily(
        "progress_job_failures_by_reason_total", .counter,
        help: "Failed attempts of the job by reason: the error normalised (digits as N, first line, cut to 80 bytes); the first --jobs.failure-reasons reasons of a job have their own series, the rest count as other.")
    static let jobLastEvent = MetricFamily("progress_job_last_event_timestamp_seconds", .gauge, help: "Unix time of the job's newest event.")

    static let agentState = MetricFamily("progress_agent_state", .gauge, help: "1 for the agent's current state, 0 for the others (sampled agents).")
    static let agentRatio = MetricFamily("progress_agent_progress_ratio", .gauge, help: "Progress of the agent's current item (0..1).")
    static let agentETA = MetricFamily("progress_agent_eta_seconds", .gauge, help: "Estimated seconds until the agent's current item is done, from its progress so far.")
    static let agentThroughput = MetricFamily("progress_agent_throughput_items_per_second", .gauge, help: "Items the agent finished per second over the last 5 minutes.")
    static let agentProcessed = MetricFamily("progress_agent_items_processed_total", .counter, help: "Item outcome events of the agent.")
    static let agentRetries = MetricFamily("progress_agent_retries_total", .counter, help: "Retries of the agent.")
    static let agentConsecutiveFailures = MetricFamily("progress_agent_consecutive_failures", .gauge, help: "Failed attempts of the agent since its last completed item.")
    static let agentLastSeen = MetricFamily("progress_agent_last_seen_timestamp_seconds", .gauge, help: "Unix time of the agent's newest event of any kind.")
    static let agentLastProgress = MetricFamily("progress_agent_last_progress_timestamp_seconds", .gauge, help: "Unix time of the agent's newest progress (start, progress or item outcome).")

    static let received = MetricFamily("progress_exporter_events_received_total", .counter, help: "Events accepted, by source.")
    static let rejected = MetricFamily("progress_exporter_events_rejected_total", .counter, help: "Event lines rejected, by reason.")
    static let ignored = MetricFamily("progress_exporter_events_ignored_total", .counter, help: "Known foreign events that carry no progress, by kind.")
    static let duplicates = MetricFamily("progress_exporter_events_duplicate_total", .counter, help: "Events ignored because their id was seen within the de-duplication window.")
    static let untrackedJobs = MetricFamily("progress_exporter_untracked_job_events_total", .counter, help: "Events of new jobs dropped because --jobs.max-tracked jobs are tracked.")
    static let untracked = MetricFamily("progress_exporter_untracked_agent_events_total", .counter, help: "Events of agents not tracked because --agents.max-tracked was reached.")
    static let lastEvent = MetricFamily("progress_exporter_last_event_timestamp_seconds", .gauge, help: "Unix time of the newest event from each source.")
    static let dedupIds = MetricFamily("progress_exporter_dedup_window_ids", .gauge, help: "Event ids remembered for de-duplication now (--events.dedup-window).")
    static let dedupBytes = MetricFamily("progress_exporter_dedup_window_bytes", .gauge, help: "Bytes the remembered event ids take (their bytes plus 64 each), bounded by --events.dedup-max-bytes.")
    static let trackedJobs = MetricFamily("progress_exporter_tracked_jobs", .gauge, help: "Jobs held in memory.")
    static let trackedAgents = MetricFamily("progress_exporter_tracked_agents", .gauge, help: "Agents held in memory.")
    static let agentSeries = MetricFamily("progress_exporter_agent_series", .gauge, help: "Agents whose own series were exported (kept) or cut by sampling (dropped) in this scrape.")

    static let outcomes: [(name: String, labels: LabelSet)] =
        ["completed", "failed", "dead_lettered"].map { ($0, LabelSet([("outcome", $0)])) }
    static let windows: [(seconds: Double, labels: LabelSet)] =
        JobRecord.windows.map { ($0.seconds, LabelSet([("window", $0.label)])) }
    static let states: [LabelSet] = AgentState.allCases.map { LabelSet([("state", $0.rawValue)]) }
    static let statuses: [LabelSet] = JobStatus.allCases.map { LabelSet([("status", $0.rawValue)]) }
}
