import Testing
@testable import MicroHTTP

@Suite("Listen address parsing")
struct ListenAddressTests {
    @Test("valid addresses", arguments: [
        ("0.0.0.0:9464", ListenAddress(host: .ipv4("0.0.0.0"), port: 9464)),
        ("127.0.0.1:0", ListenAddress(host: .ipv4("127.0.0.1"), port: 0)),
        (":9464", ListenAddress(host: .any, port: 9464)),
        ("[::1]:9464", ListenAddress(host: .ipv6("::1"), port: 9464)),
        ("[::]:65535", ListenAddress(host: .ipv6("::"), port: 65535)),
        ("localhost:9464", ListenAddress(host: .name("localhost"), port: 9464)),
        ("exporter-1.example.org:80", ListenAddress(host: .name("exporter-1.example.org"), port: 80)),
    ])
    func valid(text: String, expected: ListenAddress) throws {
        let parsed = try ListenAddress(parsing: text)
        #expect(parsed == expected)
        #expect(parsed.description == text)
    }

    @Test("invalid addresses name the reason", arguments: [
        ("", "missing \":port\""),
        ("9464", "missing \":port\""),
        ("127.0.0.1", "missing \":port\""),
        ("127.0.0.1:", "port \"\" is not a number"),
        ("127.0.0.1:http", "port \"http\" is not a number"),
        ("127.0.0.1:65536", "port \"65536\" is not a number from 0 to 65535"),
        ("127.0.0.1:-1", "port \"-1\" is not a number"),
        ("::1:9464", "needs brackets"),
        ("[::1:9464", "missing \"]\""),
        ("[::1]9464", "missing \":port\" after \"]\""),
        ("[127.0.0.1]:9464", "is not an IPv6 address"),
        ("256.1.1.1:9464", "neither an IP address nor a host name"),
        ("bad_host:9464", "neither an IP address nor a host name"),
    ])
    func invalid(text: String, reason: String) {
        #expect {
            try ListenAddress(parsing: text)
        } throws: { error in
            let message = "\(error)"
            return message.hasPrefix("invalid listen address \"\(text)\": ") && message.contains(reason)
        }
    }
}
