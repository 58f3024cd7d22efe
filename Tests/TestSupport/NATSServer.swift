import CNats
import Foundation

/// A real `nats-server` (Debian's) with JetStream, on 127.0.0.1 and a free port, storing its streams
/// in a temporary folder; stopped by `stop()` or when released. `mappings` become the server's
/// subject mappings (e.g. the partitioning of `progress.*` across shards).
public final class NATSServer {
    public let port: Int
    public let url: String
    private let process = Process()
    private let folder: URL

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public init(mappings: [String: String] = [:]) throws {
        port = try freePort()
        url = "nats://127.0.0.1:\(port)"
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("pe-nats-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let mapped = mappings.map { "  \"\($0.key)\": \"\($0.value)\"" }.joined(separator: "\n")
        let config = """
            listen: 127.0.0.1:\(port)
            jetstream { store_dir: "\(folder.path)/js" }
            mappings = {
            \(mapped)
            }
            """
        let configFile = folder.appendingPathComponent("nats.conf")
        try config.write(to: configFile, atomically: true, encoding: .utf8)
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/nats-server")
        process.arguments = ["-c", configFile.path]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Ready once it accepts a connection (at most 10 s).
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if let connection = try? NATSPublisher(url: url) { connection.close(); return }
            Thread.sleep(forTimeInterval: 0.05)
        }
        stop()
        throw Failure(description: "nats-server did not start on port \(port)")
    }

    public func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: folder)
    }

    deinit { stop() }
}

/// Publishes to a NATS server with libnats (what a tracker would do), and makes streams.
public final class NATSPublisher {
    private var connection: OpaquePointer?
    private var jetStream: OpaquePointer?

    public init(url: String) throws {
        guard natsConnection_ConnectTo(&connection, url) == NATS_OK else {
            throw NATSServer.Failure(description: "cannot connect to \(url)")
        }
        guard natsConnection_JetStream(&jetStream, connection, nil) == NATS_OK else {
            close()
            throw NATSServer.Failure(description: "no JetStream context")
        }
    }

    /// A file-backed stream holding `subjects`.
    public func addStream(_ name: String, subjects: [String]) throws {
        var config = jsStreamConfig()
        jsStreamConfig_Init(&config)
        let cName = strdup(name)
        var cSubjects = subjects.map { UnsafePointer<CChar>(strdup($0)) }
        defer {
            free(cName)
            cSubjects.forEach { free(UnsafeMutablePointer(mutating: $0)) }
        }
        config.Name = UnsafePointer(cName)
        config.Storage = js_FileStorage
        let status = cSubjects.withUnsafeMutableBufferPointer { buffer -> natsStatus in
            buffer.baseAddress!.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: buffer.count) { subjectsPointer in
                config.Subjects = UnsafeMutablePointer(mutating: subjectsPointer)
                config.SubjectsLen = Int32(buffer.count)
                var info: UnsafeMutablePointer<jsStreamInfo>?
                var error = jsErrCode(rawValue: 0)
                let status = js_AddStream(&info, jetStream, &config, nil, &error)
                if let info { jsStreamInfo_Destroy(info) }
                return status
            }
        }
        guard status == NATS_OK else { throw NATSServer.Failure(description: "cannot add stream \(name): \(String(cString: natsStatus_GetText(status)))") }
    }

    /// Publishes and waits for the stream's acknowledgement, so the message is stored.
    public func publish(_ subject: String, _ payload: String) throws {
        var ack: UnsafeMutablePointer<jsPubAck>?
        var error = jsErrCode(rawValue: 0)
        let bytes = Array(payload.utf8)
        let status = bytes.withUnsafeBytes { js_Publish(&ack, jetStream, subject, $0.baseAddress, Int32(bytes.count), nil, &error) }
        if let ack { jsPubAck_Destroy(ack) }
        guard status == NATS_OK else { throw NATSServer.Failure(description: "cannot publish to \(subject): \(String(cString: natsStatus_GetText(status)))") }
    }

    /// Publishes without waiting for each acknowledgement (fast), then flushes.
    public func publishQuickly(_ subject: String, _ payload: String) throws {
        let bytes = Array(payload.utf8)
        let status = bytes.withUnsafeBytes { natsConnection_Publish(connection, subject, $0.baseAddress, Int32(bytes.count)) }
        guard status == NATS_OK else { throw NATSServer.Failure(description: "cannot publish to \(subject)") }
    }

    public func flush() {
        _ = natsConnection_FlushTimeout(connection, 10_000)
    }

    public func close() {
        if let jetStream { jsCtx_Destroy(jetStream) }
        if let connection { natsConnection_Destroy(connection) }
        jetStream = nil
        connection = nil
    }

    deinit { close() }
}
