import Foundation
import Events

/// Estimated time to completion of a job, with an 80 % interval. A pure function of the job's
/// state and "now": nothing is smoothed by wall-clock ticks, so replaying a log at any speed gives
/// the same estimates as the live run. Chosen by `progress-bench etc` (docs/etc.md).
///
/// - **Data horizon.** Rates are measured up to the job's newest event, not up to now: events
///   read from a file every 30 s are up to 30 s old, and a window ending at now would count the
///   last seconds as silence. Once the job has been quiet for longer than `quietAfter`, the
///   horizon is now, so a stall shows as a falling rate and a rising estimate.
/// - **Rate now (Little's law).** Items in flight over their mean duration: when agents join or
///   leave, the rate follows at once, before any window fills. The durations are those since the
///   last change point of the job's record when there is one (`recentDurations`), for the rate and
///   the end alike. Scaled by the share of attempts that finish an item.
///   Without items in flight (trackers that send no `agent_started`), the windowed rate stands.
/// - **Work.** When the tracker gives `work` and `total_work`, the items left are the work left
///   over the newest items' mean work: throughput and the ETC are in work per second.
/// - **Windowed rate.** Finished items per second over 15 minutes, replaced by the 5-minute and
///   then the 1-minute rate when the shorter window counted enough items. It widens the band while
///   it disagrees with the rate now (a change the window has not caught up with).
/// - **The end.** The job ends when its queue has drained and its last item has ended. Items in
///   flight each have a remaining time: from the end their last progress report projects, spread
///   as the job's durations are, when they report some; from the
///   job's durations given their age; and for an item older than every recent duration, as long
///   again as it has run (the Lindy model: for heavy-tailed durations, P(D > a + t | D > a) is
///   about a / (a + t), so an old item's median remaining time is its age, and the older it is
///   the longer it will take). An item whose agent reported no progress for longer than its peers
///   take, well past when its own progress said it would end, is *stalled*: the job's upper bound
///   is open (nil), and `waitingOn` names it.
/// - **Band, calibrated on the job's own record.** The errors of the job's earlier estimates,
///   now that their outcome is known (`ForecastRecord`, split conformal prediction), scaled to the
///   drain ahead, scale it; before there are five, a hindcast over the finished-item ring and
///   Poisson noise do. The spread of item durations at the end adds to it. Never zero-width while
///   items remain: at least 1 %, and above a tenth of a typical item's duration.
/// - **Never a fake 0.** 0 only when nothing remains; while items remain, at least a second.
///   Absent while the planned total is unknown, nothing has finished, or the job ended with items left.
public struct CompletionEstimate: Sendable, Equatable {
    public var seconds: Double
    public var lower: Double
    /// nil: open above. The job waits on a stalled item, which may never end.
    public var upper: Double?
    /// What the end waits for: stalled items, or in the last wave the item expected to end last.
    public var waitingOn: [WaitingItem] = []
    /// The rate the estimate expects, items a second (0 when none was needed).
    var rate: Double = 0

    public init(seconds: Double, lower: Double, upper: Double?, waitingOn: [WaitingItem] = []) {
        self.seconds = seconds
        self.lower = lower
        self.upper = upper
        self.waitingOn = waitingOn
    }

    static let windows: [Double] = [900, 300, 60]
    /// Items a window must have seen for its rate to be used (a Poisson count of 200 is within 9 %, 80 % of the time).
    static let minimumCount: UInt64 = 200
    static let quietAfter: Double = 60
    /// z of a two-sided 80 % interval.
    static let z80 = 1.2816
    /// Items named in `waitingOn`, and in-flight items modelled one by one, at most.
    static let maximumWaiting = 3, maximumModelled = 64

    /// `forecast: true` is for recording one of the job's earlier estimates (`ForecastRecord`): no
    /// calibration, and the agent whose item just ended counts as busy, as it is again a moment
    /// later (seen only at item ends, the items in flight would always read one short).
    static func of(_ job: JobRecord, now: Double, forecast: Bool = false) -> CompletionEstimate? {
        guard let remaining = job.remaining else { return nil }
        if remaining == 0 { return CompletionEstimate(seconds: 0, lower: 0, upper: 0) }
        if job.status.hasEnded || job.finished == 0 { return nil }
        let horizon = now - job.lastEventTime > quietAfter ? now : min(now, job.lastEventTime)

        // A job's first items end about half an item's duration later than a steady flow would:
        // rates are measured from then, not from the start (at most half the job's age).
        let record = job.sortedDurations()
        let since = job.since + min(record.mean / 2, max(0, horizon - job.since) / 2)
        let finishedDurations = recentDurations(job, record: record)
        // Items in flight that have already run longer than every finished one are durations too,
        // known only to be longer than their age (right-censored): without them, the record of a
        // young job holds only its short items, and its rate and end read too early.
        let durations = finishedDurations.merging(censoredDurations(job, durations: finishedDurations, now: now))

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
        var windowRate = chosen.rate
        var count = chosen.count
        if windowRate <= 0 {
            windowRate = Double(job.finished) / max(1, horizon - since)
            count = job.finished
        }
        guard windowRate > 0 else { return nil }

        // The rate's relative error: a Poisson count's 1/√n, scaled by how much more or less the
        // window's six parts vary than Poisson counts would (regular work varies less, bursts more).
        let dispersion = count == chosen.count
            ? Self.dispersion(job.finishedWindow, window: min(windows[chosenIndex], max(6, horizon - since)), now: horizon)
            : 1
        let poisson = z80 * (dispersion / Double(max(count, 1))).squareRoot()

        // Items in flight are modelled by their own age and progress against the finished durations
        // (their censored totals stand for the items still to start, not for themselves).
        let flight = InFlight(job, durations: finishedDurations, now: now)
        var rate = windowRate
        let active = forecast ? min(flight.active + 1, job.agents.count) : flight.active
        if let little = littleRate(job, active: active, durations: durations, horizon: horizon) { rate = little }
        var queued = Double(remaining - min(Int64(job.itemsInFlight), remaining))
        // With work given, the items left are the work left in items of the newest items' size:
        // a big file after many small ones counts as many.
        if let left = job.work.remaining, let perItem = job.work.perItem?.work {
            queued = max(0, left / perItem - Double(job.itemsInFlight))
        }
        let offset = horizon - now   // <= 0: the time already spent since the data ends

        // The rate's ends: the job's own hindcast errors, at least Poisson noise, and the windowed
        // rate while it disagrees with the rate now.
        let drainTime = queued / rate
        let hindcast = rateRatios(job.finishedWindow, horizon: drainTime, now: horizon, since: since)
        var fastest = rate * max(1 + poisson, hindcast?.high ?? 1)
        var slowest = rate * min(max(0.2, 1 - poisson), hindcast?.low ?? 1)
        // The windowed rate disagrees beyond its own noise: a change it has not caught up with.
        let disagrees = abs(windowRate / rate - 1) > 2 * poisson
        if disagrees {
            fastest = max(fastest, windowRate)
            slowest = min(slowest, windowRate)
        }
        slowest = max(slowest, rate * 0.05)

        var estimate: CompletionEstimate
        if queued > 0 || flight.items.isEmpty {
            // Items not yet started drain at the rate; the job then ends when the last of the items
            // started before that ends: with items starting at rate r, P(end <= drain + x) is
            // exp(-r * E[(D - x)+]) over the item durations D.
            func end(rate: Double, logOfOneOverP: Double) -> Double {
                let drain = queued / rate + offset
                guard durations.count >= 8 else { return max(queued, 1) / rate + offset }
                return drain + tail(durations, rate: rate, excess: logOfOneOverP)
            }
            // The windowed rate's end: while it disagrees with the rate now, the band reaches it.
            let point = end(rate: rate, logOfOneOverP: log2e)
            let windowed = disagrees ? end(rate: windowRate, logOfOneOverP: log2e) : point
            estimate = CompletionEstimate(
                seconds: point,
                lower: min(end(rate: fastest, logOfOneOverP: ln10), windowed),
                upper: max(end(rate: slowest, logOfOneOverP: lnTenNinths), windowed))
            // Calibrated on the job's own earlier estimates, once there are enough to judge: their
            // errors scale the drain; the last items' spread is added as the durations give it.
            if !forecast, point > 0, let score = job.forecasts.errorScore(
                finished: job.finished, at: horizon, minimumElapsed: max(0.25 * point, 10 * durations.mean), horizon: queued / rate) {
                let drain = queued / rate
                func tailAt(_ excess: Double) -> Double { durations.count >= 8 ? tail(durations, rate: rate, excess: excess) : 0 }
                // The drain's error and the last item's spread are independent: the band's half-widths
                // add as the root of their squares, not as the sum of their 10 % and 90 % ends.
                let middle = tailAt(log2e)
                func half(_ a: Double, _ b: Double) -> Double { (a * a + b * b).squareRoot() }
                estimate.lower = min(point - half(drain * (1 - Foundation.exp(-score)), middle - tailAt(ln10)), windowed, point)
                estimate.upper = max(point + half(drain * (Foundation.exp(score) - 1), tailAt(lnTenNinths) - middle), windowed, point)
            }
            // Overdue by the data (the end it projects has passed): at least one more item's gap.
            estimate.seconds = max(estimate.seconds, 1 / rate)
        } else {
            estimate = CompletionEstimate(seconds: 0, lower: 0, upper: 0)
        }
        // The items in flight end too: the job's end is the later of the two.
        if let wave = flight.ends() {
            estimate.seconds = max(estimate.seconds, wave.seconds)
            estimate.lower = max(estimate.lower, wave.lower)
            estimate.upper = wave.upper.flatMap { upper in estimate.upper.map { max($0, upper) } }
        }
        estimate.waitingOn = flight.waitingOn(lastWave: queued == 0)
        estimate.rate = rate

        // Durations or rates from hostile input can overflow the arithmetic: no estimate beats a fake +Inf.
        guard estimate.seconds.isFinite, estimate.lower.isFinite, estimate.upper?.isFinite ?? true else { return nil }
        // While items remain, never 0 and never a point: at least a second, a band around it of at
        // least 1 % and, above, a tenth of a typical item's duration (the process's own grain: no
        // end is foreseen finer than the items' ends jitter), between 0.1 and 0.5 s.
        estimate.seconds = max(estimate.seconds, 1)
        estimate.lower = min(max(estimate.lower, 0.5), estimate.seconds * 0.99)
        let grain = min(0.5, max(0.1, 0.1 * durations.quantile(0.5)))
        estimate.upper = estimate.upper.map { max($0, estimate.seconds * 1.01 + grain) }
        return estimate
    }

    /// When the job ends or ended, in Unix time. Once every planned item has finished, the end of
    /// its last item (with or without `job_completed`); a job that completed without a planned total
    /// ended when it said so; else now plus the estimate. Never now for a job that has ended.
    static func completionTime(of job: JobRecord, estimate: CompletionEstimate?, now: Double) -> Double? {
        if job.remaining == 0 { return job.lastFinishTime ?? job.finishedWindow.newestBucketEnd.map { min($0, job.lastEventTime) } ?? job.lastEventTime }
        if job.status == .completed { return job.endTime }
        return estimate.map { now + $0.seconds }
    }

    /// The durations the model reads: those since the item durations last changed, when they did
    /// (a change point in the job's record with at least a generation of the items in flight, and
    /// 16, on its newer side), else the job's last 1,024. Then they stand for the rate and for the
    /// end alike: slower items drain slower, and the last of them ends later.
    static func recentDurations(_ job: JobRecord, record: SortedDurations) -> SortedDurations {
        // Rounded up to a power of two, so the kept model is not recomputed for every item in flight more or less.
        let generation = max(16, min(job.itemsInFlight, record.count / 4))
        return job.durationModel(minimumSide: 1 << (Int.bitWidth - (generation - 1).leadingZeroBitCount))
    }

    /// The durations of the items in flight that have run longer than every finished duration, as
    /// far as they can be told (right-censored at their age): the total their progress projects when
    /// it is longer than their age, else twice their age (Lindy: P(D > 2a | D > a) = 1/2). Only items
    /// older than the record's longest are counted: a younger one's duration is read from the
    /// finished durations longer than its age, which the record already holds. Stalled items are
    /// not: they may never end, and are modelled on their own (`InFlight`).
    static func censoredDurations(_ job: JobRecord, durations: SortedDurations, now: Double) -> [Double] {
        guard durations.count >= 8 else { return [] }
        let seen = now - InFlight.lag(job, now: now)
        let longest = durations.maximum
        var censored: [Double] = []
        for agent in job.heldItems.agents(startedBy: seen - longest) {
            guard let start = agent.itemStartTime else { continue }
            let age = seen - start
            guard age > longest, !InFlight.isStalled(agent, age: age, seen: seen, durations: durations) else { continue }
            var total = 2 * age
            if let ratio = agent.itemProgress, ratio > 0, let last = agent.lastProgress, last > start {
                let projected = (last - start) / ratio
                if projected > age { total = projected }
            }
            if total.isFinite { censored.append(total) }
        }
        // The same values in the same order whatever the heap's layout.
        return censored.sorted()
    }

    /// Items in flight over their mean duration, times the share of attempts that finish an item
    /// (Little's law: throughput = items in the system / time each spends there); nil without items
    /// in flight or enough durations to average.
    static func littleRate(_ job: JobRecord, active: Int, durations: SortedDurations, horizon: Double) -> Double? {
        guard active > 0, durations.count >= 8, durations.mean > 0 else { return nil }
        let mean = durations.mean
        let finished = job.finishedWindow.sum(window: 300, now: horizon).count
        let attempts = job.completedWindow.sum(window: 300, now: horizon).count + job.failedWindow.sum(window: 300, now: horizon).count
        let share = attempts > 0 ? min(1, max(0.05, Double(finished) / Double(attempts))) : 1
        let rate = Double(active) * share / mean
        return rate.isFinite && rate > 0 ? rate : nil
    }

    /// The 10th and 90th percentile, over past instants of this job, of the items finished in the
    /// next `horizon` seconds over what the rate measured just before predicted: how much the
    /// job's own rate has moved over such a stretch. Nil while the record is too short for six.
    static func rateRatios(_ counter: RollingCounter, horizon: Double, now: Double, since: Double) -> (low: Double, high: Double)? {
        guard horizon.isFinite else { return nil }
        let available = now - max(since, now - counter.spanSeconds)
        let h = max(5, min(horizon, available / 3, 300)).rounded()
        let w = min(max(30, h), 300)
        guard available >= w + h + 5 else { return nil }
        let step = max(1, (h / 3).rounded())
        var ratios: [Double] = []
        var end = now
        while end - h - w >= now - available, ratios.count < 40 {
            let measured = Double(counter.sum(window: w, now: end - h).count)
            if measured > 0 {
                let actual = Double(counter.sum(window: h, now: end).count)
                ratios.append(actual / (measured / w * h))
            }
            end -= step
        }
        guard ratios.count >= 6 else { return nil }
        ratios.sort()
        func at(_ q: Double) -> Double { ratios[Int((Double(ratios.count - 1) * q).rounded())] }
        return (max(0.05, at(0.1)), at(0.9))
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
}

/// An item the job's end waits for.
public struct WaitingItem: Sendable, Equatable, Codable {
    public var agent: String
    public var item: String?
    /// Seconds since the agent last reported progress (a start, progress or outcome).
    public var noProgressSeconds: Double
    /// No progress for longer than its peers take: it may never end.
    public var stalled: Bool

    public init(agent: String, item: String?, noProgressSeconds: Double, stalled: Bool) {
        self.agent = agent
        self.item = item
        self.noProgressSeconds = noProgressSeconds
        self.stalled = stalled
    }

    enum CodingKeys: String, CodingKey {
        case agent, item, stalled
        case noProgressSeconds = "no_progress_seconds"
    }

    /// `agent-000 (item-611, no progress for 2m10s)`.
    public var text: String {
        let quiet = "no progress for " + DurationText.short(noProgressSeconds)
        return "\(agent) (" + (item.map { "\($0), " } ?? "") + quiet + ")"
    }
}

/// The items in flight of a job, each with a model of its remaining time.
struct InFlight {
    /// How an item's remaining time R is distributed: P(R <= t).
    enum Remaining {
        /// From the job's durations given the item's age: P(D <= age + t | D > age).
        case survival(age: Double, atAge: Double)
        /// Log-logistic around a median, of shape 4 (its own progress, before the job has durations:
        /// 10-90 % within 0.58-1.7 × the median) or 1 (Lindy: as long again as it has run, 10-90 %
        /// within 1/9-9 ×).
        case logLogistic(median: Double, shape: Int)
        /// Its own progress's projection, spread as the job's durations are about their median:
        /// P(R <= t) = P(D <= t / median × median(D)). Items of a job whose durations barely vary end
        /// close to when their progress says; a heavy-tailed job's spread as widely as its items do.
        case progress(median: Double, durationMedian: Double)
    }

    struct Item {
        var agent: AgentRecord
        var remaining: Remaining
        var stalled: Bool
        var median: Double
        var quiet: Double
    }

    let durations: SortedDurations
    /// The items worth modelling one by one: every item in the last wave, else stalled items and
    /// items older than every recent duration; the `maximumModelled` expected to end last.
    private(set) var items: [Item] = []
    /// Items in flight that are not stalled: the concurrency of Little's law.
    private(set) var active = 0
    private var stalledCount = 0

    init(_ job: JobRecord, durations: SortedDurations, now: Double) {
        self.durations = durations
        let typical = durations.quantile(0.9)
        let lag = Self.lag(job, now: now)
        let lastWave = job.remaining.map { $0 <= Int64(job.itemsInFlight) } ?? false
        var stalled = 0
        let seen = now - lag
        // Only items older than the job's 90th-percentile duration can be stalled, overdue or older
        // than every duration; in the last wave every item counts. Visited oldest first by the
        // job's index of held items, not by scanning its agents; in a fixed order (by start, then
        // id), so the products below come out the same however the index is laid out.
        let candidates = job.heldItems.agents(startedBy: lastWave || durations.count < 8 ? .infinity : seen - typical)
            .sorted { ($0.itemStartTime ?? 0, $0.id) < ($1.itemStartTime ?? 0, $1.id) }
        for agent in candidates {
            guard let start = agent.itemStartTime else { continue }
            let age = max(0, seen - start)
            let quiet = max(0, seen - max(agent.lastProgress ?? start, start))
            let isStalled = Self.isStalled(agent, age: age, seen: seen, durations: durations)
            var overdue = false
            // Its remaining time by its own progress: the end the last report projects, less the
            // time since (the report ages; extrapolating it to now would push its end out).
            var projected: Double?
            if let ratio = agent.itemProgress, ratio > 0, let last = agent.lastProgress, last > start {
                let expected = (last - start) / ratio
                projected = expected - age
                overdue = age > expected && quiet > typical
            }
            if isStalled { stalled += 1 }
            let remaining: Remaining
            if isStalled || overdue {
                // Past the end its own progress promised, and quiet for longer than peers take:
                // as long again as it has been quiet.
                remaining = .logLogistic(median: max(quiet, 1), shape: 1)
            } else if let eta = projected ?? agent.itemETA(now: seen), agent.itemProgress ?? 0 > 0 {
                let typicalDuration = durations.quantile(0.5)
                remaining = durations.count >= 8 && typicalDuration > 0
                    ? .progress(median: max(eta, 0.5), durationMedian: typicalDuration)
                    : .logLogistic(median: max(eta, 0.5), shape: 4)
            } else if !durations.isEmpty, durations.survival(age) > 0 {
                remaining = .survival(age: age, atAge: durations.survival(age))
            } else {
                remaining = .logLogistic(median: max(age, 1), shape: 1)
            }
            // Overdue, or older than every recent duration (the Lindy case).
            var old = false
            if case .logLogistic(_, let shape) = remaining, shape == 1 { old = true }
            guard lastWave || old else { continue }
            var item = Item(agent: agent, remaining: remaining, stalled: isStalled, median: 0, quiet: quiet)
            item.median = Self.quantile(0.5, of: [item], durations: durations, floor: 0)
            items.append(item)
        }
        stalledCount = stalled
        active = max(0, job.itemsInFlight - stalled)
        if items.count > CompletionEstimate.maximumModelled {
            items.sort { $0.median > $1.median }
            items.removeLast(items.count - CompletionEstimate.maximumModelled)
        }
    }

    /// How far behind now the data is: while other agents hold items, the job's newest event marks
    /// how current it is (events of the other agents are as old: the data lags, not the agent).
    static func lag(_ job: JobRecord, now: Double) -> Double {
        job.itemsInFlight > 1 ? max(0, now - job.lastEventTime) : 0
    }

    /// Stalled: overdue by its own progress, and quiet for longer than its peers take; or, without
    /// progress, quiet for longer than twice every recent duration.
    static func isStalled(_ agent: AgentRecord, age: Double, seen: Double, durations: SortedDurations) -> Bool {
        guard let start = agent.itemStartTime else { return false }
        let quiet = max(0, seen - max(agent.lastProgress ?? start, start))
        if let ratio = agent.itemProgress, ratio > 0, let last = agent.lastProgress, last > start {
            let expected = (last - start) / ratio
            return quiet > max(10, 2 * durations.quantile(0.9)) && age - expected > max(10, 2 * expected)
        }
        return !durations.isEmpty && quiet > max(30, 2 * durations.maximum)
    }

    /// P(R <= t) of one item.
    static func probability(_ remaining: Remaining, within t: Double, durations: SortedDurations) -> Double {
        guard t > 0 else { return 0 }
        switch remaining {
        case .survival(let age, let atAge):
            return 1 - durations.survival(age + t) / atAge
        case .logLogistic(let median, let shape):
            let x = median / t
            return 1 / (1 + (shape == 1 ? x : (x * x) * (x * x)))
        case .progress(let median, let durationMedian):
            return 1 - durations.survival(t / median * durationMedian)
        }
    }

    /// The t at which every item has ended with probability q (bisection; the items are independent).
    static func quantile(_ q: Double, of items: [Item], durations: SortedDurations, floor: Double) -> Double {
        func done(_ t: Double) -> Double {
            var p = 1.0
            for item in items { p *= probability(item.remaining, within: t, durations: durations) }
            return p
        }
        var low = floor, high = Swift.max(floor, 1)
        var doublings = 0
        while done(high) < q, doublings < 64 { low = high; high *= 2; doublings += 1 }
        for _ in 0..<50 {
            let mid = (low + high) / 2
            if done(mid) >= q { high = mid } else { low = mid }
        }
        return high
    }

    /// When the modelled items have all ended: median and 80 % interval, open above while one is stalled.
    func ends() -> CompletionEstimate? {
        guard !items.isEmpty else { return nil }
        return CompletionEstimate(
            seconds: Self.quantile(0.5, of: items, durations: durations, floor: 0),
            lower: Self.quantile(0.1, of: items, durations: durations, floor: 0),
            upper: stalledCount > 0 ? nil : Self.quantile(0.9, of: items, durations: durations, floor: 0))
    }

    /// The stalled items, longest quiet first; in the last wave without one, the item expected to end last.
    func waitingOn(lastWave: Bool) -> [WaitingItem] {
        var chosen = items.filter(\.stalled).sorted { ($0.quiet, $0.agent.id) > ($1.quiet, $1.agent.id) }
        if chosen.isEmpty, lastWave, let last = items.max(by: { ($0.median, $1.agent.id) < ($1.median, $0.agent.id) }) {
            chosen = [last]
        }
        return chosen.prefix(CompletionEstimate.maximumWaiting).map {
            WaitingItem(agent: $0.agent.id, item: $0.agent.currentItem, noProgressSeconds: $0.quiet, stalled: $0.stalled)
        }
    }
}

extension AgentState {
    /// Working on an item, or about to.
    var isBusy: Bool { self == .running || self == .initializing || self == .merging || self == .retrying }
}
