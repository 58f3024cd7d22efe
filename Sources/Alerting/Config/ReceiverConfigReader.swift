import ConfigFiles

/// Reads one entry of `receivers:`: `name` and exactly one of alertmanager, webhook, command, log.
enum ReceiverConfigReader {
    static func read(_ reader: YAMLReader) throws(ConfigError) -> AlertingConfig.Receiver {
        let fields = try reader.mapping(allowed: ["name", "alertmanager", "webhook", "command", "log"])
        guard let nameReader = fields["name"] else { throw reader.fail("missing field \"name\"") }
        let name = try nameReader.string()
        guard !name.isEmpty else { throw nameReader.fail("must not be empty") }
        let kinds = ["alertmanager", "webhook", "command", "log"].filter { fields[$0] != nil }
        guard kinds.count == 1, let kind = kinds.first, let settings = fields[kind] else {
            throw reader.fail("receiver \"\(name)\" needs exactly one of alertmanager, webhook, command, log (has \(kinds.isEmpty ? "none" : kinds.joined(separator: ", ")))")
        }
        switch kind {
        case "alertmanager":
            let f = try settings.mapping(allowed: ["url", "urls", "resend_interval", "timeout"])
            var urls = try f["urls"]?.stringList() ?? []
            if let url = f["url"] { urls.insert(try url.string(), at: 0) }
            guard !urls.isEmpty else { throw settings.fail("needs url or urls") }
            var config = AlertmanagerConfig(urls: urls)
            if let value = f["resend_interval"] { config.resendInterval = try positive(value) }
            if let value = f["timeout"] { config.timeout = try positive(value) }
            return .alertmanager(name: name, config)
        case "webhook":
            let f = try settings.mapping(allowed: ["url", "send_resolved", "group_by", "timeout", "bearer_token", "basic_auth"])
            guard let url = f["url"] else { throw settings.fail("needs url") }
            var config = WebhookConfig(url: try url.string())
            if let value = f["send_resolved"] { config.sendResolved = try value.bool() }
            if let value = f["group_by"] { config.groupBy = try value.stringList() }
            if let value = f["timeout"] { config.timeout = try positive(value) }
            if let value = f["bearer_token"] { config.bearerToken = try value.string() }
            if let value = f["basic_auth"] {
                let auth = try value.mapping(allowed: ["username", "password"])
                guard let user = auth["username"], let password = auth["password"] else { throw value.fail("needs username and password") }
                config.basicAuth = BasicAuth(username: try user.string(), password: try password.string())
            }
            if config.bearerToken != nil && config.basicAuth != nil { throw settings.fail("bearer_token and basic_auth exclude each other") }
            return .webhook(name: name, config)
        case "command":
            let f = try settings.mapping(allowed: ["argv", "timeout"])
            guard let argv = f["argv"] else { throw settings.fail("needs argv") }
            var config = CommandConfig(argv: try argv.stringList())
            guard !config.argv.isEmpty else { throw argv.fail("must name a program") }
            if let value = f["timeout"] { config.timeout = try positive(value) }
            return .command(name: name, config)
        default:
            _ = try settings.mapping(allowed: [])
            return .log(name: name)
        }
    }

    private static func positive(_ reader: YAMLReader) throws(ConfigError) -> Double {
        let seconds = try reader.duration()
        guard seconds > 0 else { throw reader.fail("must be positive") }
        return seconds
    }
}
