import Foundation

/// Estimated time to completion of a job: remaining items over a rolling throughput, smoothed over time.
///
/// - Rate: finished items per second over the last 5 minutes (`rateWindow`). When that window saw no
///   finished item but the job has finished some before, the average since the job's start is used,
///   so a pause does not make the estimate vanish (JobStalled says the job stalled).
/// - Smoothing: the completion *time* follows the raw estimate exponentially with a time constant of
///   `smoothingSeconds`, so a burst or a gap does not make the ETC jump on every event.
/// - Absent (nil) while the planned total is unknown, nothing has finished yet, or the job ended
///   with items left; 0 when nothing remains.
enum CompletionEstimate {
    static let rateWindow: Double = 300
    static let smoothingSeconds: Double = 30

    static func rawSeconds(_ job: JobRecord, now: Double) -> Double? {
        guard let remaining = job.remaining else { return nil }
        if remaining == 0 { return 0 }
        if job.status.hasEnded { return nil }
        var rate = job.throughput(window: rateWindow, now: now)
        if rate == 0 && job.finished > 0 {
            rate = Double(job.finished) / max(1, now - job.since)
        }
        guard rate > 0 else { return nil }
        return Double(remaining) / rate
    }

    /// Seconds until completion at `now`, smoothed from the last committed point without changing it.
    static func seconds(_ job: JobRecord, now: Double) -> Double? {
        guard let raw = rawSeconds(job, now: now) else { return nil }
        if raw == 0 { return 0 }
        guard let smoothed = job.smoothedCompletion, let at = job.smoothedAt, now > at else {
            return job.smoothedCompletion.map { max(0, $0 - now) } ?? raw
        }
        let alpha = 1 - exp(-(now - at) / smoothingSeconds)
        let completion = smoothed + alpha * (now + raw - smoothed)
        return max(0, completion - now)
    }

    /// Commits the smoothed completion time at `now`; called on the store's tick.
    static func advance(_ job: JobRecord, now: Double) {
        guard let eta = seconds(job, now: now), eta > 0 else {
            job.smoothedCompletion = nil
            job.smoothedAt = nil
            return
        }
        job.smoothedCompletion = now + eta
        job.smoothedAt = now
    }
}
