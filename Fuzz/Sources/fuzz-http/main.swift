import CFuzzDriver
import ExporterApp
import Foundation
import Glibc

/// Raw bytes sent to a running exporter's HTTP server (libmicrohttpd, the request reader, framing checks,
/// the router and every endpoint), as one client connection: the server must not crash or trip the
/// sanitizer, and whatever it answers must be an HTTP/1.x answer.
///
/// One exporter serves every input (starting one per input would be too slow to explore); each input is
/// a fresh connection whose write side is closed after the bytes, so the server reads to the end.
let exporter: Exporter = {
    var options = ExporterOptions()
    options.listenAddress = "127.0.0.1:0"
    // A small body limit and deadline, so framing edges are reached with short inputs.
    options.maxBodyBytes = 4096
    options.requestTimeoutSeconds = 2
    do {
        let exporter = try Exporter(options: options)
        try exporter.start()
        return exporter
    } catch {
        fatalError("the exporter did not start: \(error)")
    }
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTP(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    precondition(descriptor >= 0, "socket: \(errno)")
    defer { close(descriptor) }
    // A stream answer never ends: a second without bytes ends the read.
    var timeout = timeval(tv_sec: 1, tv_usec: 0)
    setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(exporter.port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    precondition(connected == 0, "the exporter stopped accepting connections (errno \(errno))")
    if let data, size > 0 {
        var sent = 0
        while sent < size {
            let count = send(descriptor, data + sent, size - sent, Int32(MSG_NOSIGNAL))
            if count <= 0 { break }  // the server closed early (a refused request): fine
            sent += count
        }
    }
    shutdown(descriptor, Int32(SHUT_WR))
    var answer: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 16384)
    while answer.count < 1 << 22 {
        let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
        if count <= 0 { break }
        answer.append(contentsOf: buffer[..<count])
    }
    if !answer.isEmpty {
        precondition(answer.starts(with: Array("HTTP/1.".utf8)), "not an HTTP answer: \(String(decoding: answer.prefix(80), as: UTF8.self))")
    }
    return 0
}

var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv, fuzzHTTP))
