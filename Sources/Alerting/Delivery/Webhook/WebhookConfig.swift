/// A `webhook:` receiver's settings, named as in Alertmanager's `webhook_config`.
public struct WebhookConfig: Sendable, Equatable {
    public var url: String
    /// Whether resolved alerts are posted too.
    public var sendResolved: Bool
    /// Label names whose values split a batch into groups, one POST each; empty means one group.
    /// `job` is accepted for `job_name` (deprecated; see `AlertLabels.value`).
    public var groupBy: [String]
    /// Seconds a POST may take before it counts as failed (and is retried).
    public var timeout: Double
    public var bearerToken: String?
    /// Used when `bearerToken` is nil; Alertmanager refuses both at once, and so should the config reader.
    public var basicAuth: BasicAuth?
    /// Where the receiver can see the alerts: the exporter's own URL, sent as `externalURL`.
    public var externalURL: String

    public init(
        url: String, sendResolved: Bool = true, groupBy: [String] = [], timeout: Double = 10,
        bearerToken: String? = nil, basicAuth: BasicAuth? = nil, externalURL: String = ""
    ) {
        self.url = url
        self.sendResolved = sendResolved
        self.groupBy = groupBy
        self.timeout = timeout
        self.bearerToken = bearerToken
        self.basicAuth = basicAuth
        self.externalURL = externalURL
    }

    var authorization: HTTPAuthorization? {
        if let bearerToken { return .bearer(token: bearerToken) }
        return basicAuth.map { .basic($0) }
    }
}
