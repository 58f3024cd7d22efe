/// A libmicrohttpd connection pointer; MHD allows resuming it from any thread.
struct ConnectionHandle: @unchecked Sendable {
    let pointer: OpaquePointer
}

/// A running libmicrohttpd daemon; only `HTTPServer` starts and stops it.
struct DaemonHandle: @unchecked Sendable {
    let pointer: OpaquePointer
}
