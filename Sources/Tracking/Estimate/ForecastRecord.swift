import Foundation

/// The job's own earlier estimates, kept to calibrate its band (split conformal prediction): each
/// is the rate the estimator expected, made at a finished-item count; once more items have
/// finished, how long they took against how long that rate implied is a measured error of this
/// estimator on this job. Recorded as events are applied, at every 1/128 of the planned items, so a replay
/// of the same events records the same ones. Not in snapshots: after a restart the band is the
/// model's until a few new ones are made. At most `capacity` a job, the newest.
struct ForecastRecord {
    struct Forecast {
        /// Event time it was made at.
        var time: Double
        /// Items finished then.
        var finished: UInt64
        /// Items a second the estimate expected from then on.
        var rate: Double
    }

    static let capacity = 64
    /// The percentile of the scores that makes the band: errors measured over part of a horizon
    /// overstate the whole horizon's (a stretch's count noise does not all add up), and the 70th
    /// held the truth about 80 % of the time over the traces of `progress-bench etc`.
    static let scoreQuantile = 0.7
    static let perJob: Int64 = 128
    fileprivate(set) var forecasts: [Forecast] = []
    fileprivate var next = 0
    /// The finished count at which the next one is made.
    fileprivate(set) var nextAt: UInt64 = 0

    /// Whether a forecast is due at this finished count.
    func isDue(finished: UInt64) -> Bool { finished >= nextAt }

    mutating func add(_ forecast: Forecast, planned: Int64) {
        nextAt = forecast.finished + UInt64(max(1, planned / Self.perJob))
        if forecasts.count < Self.capacity {
            forecasts.append(forecast)
        } else {
            forecasts[next] = forecast
            next = (next + 1) % Self.capacity
        }
    }

    /// The `scoreQuantile` percentile of |ln(actual / implied)| over the forecasts at least `minimumElapsed`
    /// old with items finished since: actual is the time the items finished since took, implied
    /// the time the forecast's rate gave them (the absolute-residual score of split conformal
    /// prediction, in log space so too fast and too slow count alike). An error measured over a
    /// stretch of another length than `horizon` is scaled to it by the square root of their ratio
    /// (counting noise averages out over a longer stretch, and weighs more over a shorter one: near
    /// the end, the few seconds left are as uncertain as so few items make them). Nil with fewer
    /// than `minimumCount`.
    func errorScore(finished: UInt64, at now: Double, minimumElapsed: Double, horizon: Double, minimumCount: Int = 5) -> Double? {
        var scores: [Double] = []
        for f in forecasts where f.finished < finished && f.rate > 0 {
            let elapsed = now - f.time
            guard elapsed >= minimumElapsed, elapsed > 0 else { continue }
            let implied = Double(finished - f.finished) / f.rate
            guard implied > 0, implied.isFinite else { continue }
            let scale = horizon > 0 ? (elapsed / horizon).squareRoot() : 1
            scores.append(abs(Foundation.log(elapsed / implied)) * scale)
        }
        guard scores.count >= minimumCount else { return nil }
        scores.sort()
        return scores[Int((Double(scores.count - 1) * Self.scoreQuantile).rounded())]
    }
}

extension ForecastRecord {
    func encode(into w: inout BinaryWriter) {
        w.array(forecasts) { w, f in w.double(f.time); w.u64(f.finished); w.double(f.rate) }
        w.int(next)
        w.u64(nextAt)
    }

    static func decode(from r: inout BinaryReader) throws(BinaryReadError) -> ForecastRecord {
        var record = ForecastRecord()
        record.forecasts = try r.array(minimumSize: 24) { (r: inout BinaryReader) throws(BinaryReadError) in
            Forecast(time: try r.time(), finished: try r.u64(), rate: try r.double())
        }
        record.next = try r.int()
        record.nextAt = try r.u64()
        guard record.forecasts.count <= capacity, record.next >= 0, record.next < capacity,
              record.forecasts.allSatisfy({ $0.rate.isFinite && $0.rate >= 0 }) else {
            throw BinaryReadError("forecast record out of shape")
        }
        return record
    }
}
