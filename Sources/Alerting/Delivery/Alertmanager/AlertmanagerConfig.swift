/// An `alertmanager:` receiver's settings: where the Alertmanagers are and how often firing alerts are re-sent.
public struct AlertmanagerConfig: Sendable, Equatable {
    /// Base URLs, e.g. `http://127.0.0.1:9093`; every alert goes to each of them, as Prometheus does.
    public var urls: [String]
    /// Seconds between re-sends of a firing alert (the evaluator re-enqueues it); a firing alert's
    /// `endsAt` is set 4 intervals ahead so it lapses by itself if the exporter stops sending.
    public var resendInterval: Double
    /// Seconds a POST may take before it counts as failed (and is retried).
    public var timeout: Double

    public init(urls: [String], resendInterval: Double = 60, timeout: Double = 10) {
        self.urls = urls
        self.resendInterval = resendInterval
        self.timeout = timeout
    }
}
