import Foundation

/// A throwaway PKI made with `openssl` (Debian: openssl) in a temporary folder: a CA, a server
/// certificate for 127.0.0.1 and localhost signed by it, a client certificate signed by it, and a
/// client certificate signed by another CA the server does not trust. EC P-256 keys, valid 2 days.
public struct TestCertificates: Sendable {
    public let folder: URL
    public var caCert: String { path("ca.crt") }
    public var serverCert: String { path("server.crt") }
    public var serverKey: String { path("server.key") }
    public var clientCert: String { path("client.crt") }
    public var clientKey: String { path("client.key") }
    /// Signed by `rogue-ca`, which the server does not trust.
    public var rogueClientCert: String { path("rogue-client.crt") }
    public var rogueClientKey: String { path("rogue-client.key") }
    /// A second server certificate (and its key), for 127.0.0.1 and localhost, signed by `rogue-ca`.
    public var secondServerCert: String { path("server2.crt") }
    public var secondServerKey: String { path("server2.key") }
    public var secondCA: String { path("rogue-ca.crt") }
    /// A second server key that does not match `serverCert`.
    public var otherKey: String { path("rogue-ca.key") }

    public func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public init() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("pe-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try """
            [req]
            distinguished_name = dn
            [dn]
            [ca]
            basicConstraints = critical,CA:TRUE
            keyUsage = critical,keyCertSign,cRLSign
            [server]
            subjectAltName = IP:127.0.0.1,DNS:localhost
            extendedKeyUsage = serverAuth
            [client]
            extendedKeyUsage = clientAuth

            """.write(to: folder.appendingPathComponent("openssl.cnf"), atomically: true, encoding: .utf8)
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        for ca in ["ca", "rogue-ca"] {
            try openssl(["req", "-x509", "-config", "openssl.cnf", "-extensions", "ca"] + ec + ["-keyout", "\(ca).key", "-out", "\(ca).crt", "-days", "2", "-subj", "/CN=\(ca)"])
        }
        var serial = 2
        for (name, ca, extensions) in [("server", "ca", "server"), ("client", "ca", "client"), ("rogue-client", "rogue-ca", "client"), ("server2", "rogue-ca", "server")] {
            try openssl(["req", "-new", "-config", "openssl.cnf"] + ec + ["-keyout", "\(name).key", "-out", "\(name).csr", "-subj", "/CN=\(name)"])
            try openssl(["x509", "-req", "-in", "\(name).csr", "-CA", "\(ca).crt", "-CAkey", "\(ca).key", "-set_serial", "\(serial)",
                         "-days", "2", "-extfile", "openssl.cnf", "-extensions", extensions, "-out", "\(name).crt"])
            serial += 1
        }
    }

    public func remove() { try? FileManager.default.removeItem(at: folder) }

    private func openssl(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        process.currentDirectoryURL = folder
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw Failure(description: "openssl \(arguments.joined(separator: " ")): \(text)") }
    }
}

/// Runs curl (with `--max-time`) and returns the HTTP status (0 when no answer came) and the body.
public func curl(_ arguments: [String], seconds: Int = 10) throws -> (status: Int, body: String, exit: Int32) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
    let marker = "\n@@status="
    process.arguments = ["--silent", "--show-error", "--max-time", "\(seconds)", "--write-out", marker + "%{http_code}"] + arguments
    let output = Pipe()
    process.standardOutput = output
    process.standardError = output
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    guard let range = text.range(of: marker, options: .backwards) else { return (0, text, process.terminationStatus) }
    return (Int(text[range.upperBound...].trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0, String(text[..<range.lowerBound]), process.terminationStatus)
}
