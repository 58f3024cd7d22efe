import Events

/// Estimated time to completion of a job, with an 80 % interval. A pure function of the job's
/// state and "now": nothing is smoothed by wall-clock ticks, so replaying a log at any speed gives
/// the same estimates as the live run. Chosen by `progress-bench etc` (docs/etc.md).
///
/// - **Data horizon.** Rates are measured up to the job's newest event, not up to now: events
///   read from a file every 30 s are up to 30 s old, and a window ending at now would count the
///   last seconds as silence. Once the job has been quiet for longer than `quietAfter`, the
///   horizon is now, so a stall shows as a falling rate and a rising estimate.
/// - **Rate with an adaptive window.** Finished items per second over 15 minutes, replaced by the
///   5-minute and then the 1-minute rate when the shorter window's count is not what the longer
///   rate predicts (beyond Poisson noise): a steady job gets a long, quiet window, a change is
///   followed within a minute. A window older than the job is measured from the job's start.
///   When no window saw a finished item, the average since the start is used.
/// - **Last wave.** When no more items remain than agents are busy, the job ends when its slowest
///   running item ends: the estimate is at least that item's remaining time, from its own progress,
///   or else from the job's mean item duration and how long it has run (half its age once it is
///   past the mean: long-running items tend to run longer).
/// - **Never a fake 0.** 0 only when nothing remains; while items remain, at least the time one
///   more item takes at the current rate. Absent while the planned total is unknown, nothing has
///   finished, or the job ended with items left.
/// - **Band.** From the spread of the three window rates and each one's Poisson error (a count of
///   n has a relative error of about 1/√n; 1.28 of them make an 80 % interval), widened by the
///   in-flight items' remaining-time estimates near the end.
public struct CompletionEstimate: Sendable, Equatable {
    public var seconds: Double
    public var lower: Double
    public var upper: Double

    static let windows: [Double] = [900, 300, 60]
    /// Items a window must have seen for its rate to be used (a Poisson count of 200 is within 9 %, 80 % of the time).
    static let minimumCount: UInt64 = 200
    static let quietAfter: Double = 60
    /// z of a two-sided 80 % interval.
    static let z80 = 1.2816

    static func of(_ job: JobRecord, now: Double) -> CompletionEstimate? {
        guard let remaining = job.remaining else { return nil }
        if remaining == 0 { return CompletionEstimate(seconds: 0, lower: 0, upper: 0) }
        if job.status.hasEnded || job.finished == 0 { return nil }
        let horizon = now - job.lastEventTime > quietAfter ? now : min(now, job.lastEventTime)

        // A job's first items end about half an item's duration later than a steady flow would:
        // rates are measured from then, not from the start (at most half the job's age).
        let durations = job.sortedDurations()
        let since = job.since + min(durations.mean / 2, max(0, horizon - job.since) / 2)

        // Rates of every window, longest first, with their counts.
        var rates: [(rate: Double, count: UInt64)] = []
        for window in windows {
            let (count, windowStart) = job.finishedWindow.sum(window: window, now: horizon)
            let span = max(1, horizon - max(windowStart, since))
            rates.append((Double(count) / span, count))
        }
        // The shortest window that saw enough items to measure a rate within a few per cent; a job
        // too slow for that uses the longest.
        let chosenIndex = rates.indices.reversed().first { rates[$0].count >= minimumCount } ?? 0
        let chosen = rates[chosenIndex]
        var rate = chosen.rate
        var count = chosen.count
        if rate <= 0 {
            rate = Double(job.finished) / max(1, horizon - since)
            count = job.finished
        }
        guard rate > 0 else { return nil }

        // The rate's relative error: a Poisson count's 1/√n, scaled by how much more or less the
        // window's six parts vary than Poisson counts would (regular work varies less, bursts more).
        let dispersion = count == chosen.count
            ? Self.dispersion(job.finishedWindow, window: min(windows[chosenIndex], max(6, horizon - since)), now: horizon)
            : 1
        let poisson = z80 * (dispersion / Double(max(count, 1))).squareRoot()
        let fastest = rate * (1 + poisson)
        let slowest = rate * max(0.2, 1 - poisson)
        let busy = Int64(job.itemsInFlight)

        var estimate: CompletionEstimate
        if busy >= remaining, let wave = lastWave(job, remaining: remaining, durations: durations, now: now) {
            estimate = wave
        } else {
            // Items not yet started drain at the rate; the job then ends when the last of the items
            // started before that ends: with items starting at rate r, P(end <= drain + x) is
            // exp(-r * E[(D - x)+]) over the item durations D.
            let queued = Double(remaining - min(busy, remaining))
            let offset = horizon - now   // <= 0: the time already spent since the data ends
            func end(rate: Double, logOfOneOverP: Double) -> Double {
                let drain = queued / rate + offset
                guard durations.count >= 8 else { return Double(remaining) / rate + offset }
                return drain + tail(durations, rate: rate, excess: logOfOneOverP)
            }
            estimate = CompletionEstimate(
                seconds: end(rate: rate, logOfOneOverP: log2e),
                lower: end(rate: fastest, logOfOneOverP: ln10),
                upper: end(rate: slowest, logOfOneOverP: lnTenNinths))
            // Overdue by the data (the end it projects has passed): at least one more item's gap.
            estimate.seconds = max(estimate.seconds, 1 / rate)
        }
        // Durations or rates from hostile input can overflow the arithmetic: no estimate beats a fake +Inf.
        guard estimate.seconds.isFinite, estimate.lower.isFinite, estimate.upper.isFinite else { return nil }
        // While items remain, never 0: at least a second.
        estimate.seconds = max(estimate.seconds, 1)
        estimate.lower = min(max(estimate.lower, 0.5), estimate.seconds)
        estimate.upper = max(estimate.upper, estimate.seconds)
        return estimate
    }

    /// Variance over mean of the counts in six equal parts of the window (1 for a Poisson process),
    /// kept within 0.05...20.
    static func dispersion(_ counter: RollingCounter, window: Double, now: Double) -> Double {
        let part = window / 6
        guard part >= counter.bucketSeconds else { return 1 }
        var counts: [Double] = []
        for i in 0..<6 {
            counts.append(Double(counter.sum(window: part, now: now - Double(i) * part).count))
        }
        let mean = counts.reduce(0, +) / 6
        guard mean > 0 else { return 1 }
        let variance = counts.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / 5
        return min(20, max(0.05, variance / mean))
    }

    /// ln 2, ln 10 and ln(10/9): where exp(-k) is 1/2, 1/10 and 9/10.
    static let log2e = 0.693_147_180_559_945, ln10 = 2.302_585_092_994_046, lnTenNinths = 0.105_360_515_657_826

    /// The x at which rate * E[(D - x)+] falls to `excess`: how long past the last start the last item
    /// ends, at the probability that `excess` stands for.
    static func tail(_ durations: SortedDurations, rate: Double, excess: Double) -> Double {
        guard rate * durations.mean > excess else { return 0 }
        var low = 0.0, high = durations.maximum
        for _ in 0..<50 {
            let mid = (low + high) / 2
            if rate * durations.expectedExcess(mid) > excess { low = mid } else { high = mid }
        }
        return (low + high) / 2
    }

    /// The last wave: no item waits, so the job ends when its slowest item in flight ends. Each item's
    /// remaining time comes from its own progress when it reported some; else from the job's recent
    /// durations given how long it has run (P(D > age + t | D > age)); else, for an item older than
    /// every recent duration, half its age (long-running items tend to run longer). Nil when fewer
    /// items are seen in flight than remain (agents past `--agents.max-tracked`, trackers that send
    /// no `agent_started`): then the rate model stands.
    static func lastWave(
        _ job: JobRecord, remaining: Int64, durations: SortedDurations, now: Double
    ) -> CompletionEstimate? {
        var known: [Double] = []   // remaining times taken as certain
        var ages: [Double] = []    // ages of items whose remaining time follows the durations
        for agent in job.agents where agent.holdsItem {
            guard let start = agent.itemStartTime else { continue }
            let age = max(0, now - start)
            if let eta = agent.itemETA(now: now), agent.itemProgress ?? 0 > 0 {
                known.append(eta)
            } else if !durations.isEmpty, durations.survival(age) > 0 {
                ages.append(age)
            } else {
                known.append(max((durations.isEmpty ? age : durations.mean) - age, age * 0.5))
            }
        }
        guard known.count + ages.count >= Int(min(remaining, Int64(Int.max))) else { return nil }
        let floor = known.max() ?? 0
        let survivalAtAge = ages.map { durations.survival($0) }
        // P(every item in flight has ended within t).
        func done(within t: Double) -> Double {
            if t < floor { return 0 }
            var p = 1.0
            for (age, atAge) in zip(ages, survivalAtAge) { p *= 1 - durations.survival(age + t) / atAge }
            return p
        }
        func quantile(_ q: Double) -> Double {
            var low = floor, high = max(floor, durations.maximum) + 1
            if done(within: high) < q { return high }
            for _ in 0..<50 {
                let mid = (low + high) / 2
                if done(within: mid) >= q { high = mid } else { low = mid }
            }
            return high
        }
        return CompletionEstimate(seconds: quantile(0.5), lower: quantile(0.1), upper: quantile(0.9))
    }
}

extension AgentState {
    /// Working on an item, or about to.
    var isBusy: Bool { self == .running || self == .initializing || self == .merging || self == .retrying }
}
