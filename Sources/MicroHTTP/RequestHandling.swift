import CMicroHTTPD

/// Per-request state kept in MHD's `con_cls` between access-handler calls.
final class RequestState {
    var body: [UInt8] = []
    var bodyTooLarge = false
}

extension ServerContext {
    /// One access-handler call. MHD calls it once when the headers are in, once per
    /// piece of body, and once more with no data when the request is complete.
    func access(
        connection: OpaquePointer,
        url: UnsafePointer<CChar>,
        method: UnsafePointer<CChar>,
        uploadData: UnsafePointer<CChar>?,
        uploadDataSize: UnsafeMutablePointer<Int>,
        requestSlot: UnsafeMutablePointer<UnsafeMutableRawPointer?>
    ) -> MHD_Result {
        guard let slot = requestSlot.pointee else {
            let declared: UInt64?
            switch RequestFraming.check(
                contentLengths: MHDRequestReader.all("Content-Length", connection: connection),
                transferEncodings: MHDRequestReader.all("Transfer-Encoding", connection: connection)) {
            case .refused(let reason): return queue(Self.badFraming(reason), on: connection)
            case .length(let length): declared = length
            }
            // Refusing here, before MHD sends "100 Continue", means the body is never read.
            if let declared, declared > UInt64(maxBodyBytes) {
                return queue(tooLarge(declared: declared), on: connection)
            }
            // Answering on this first call would make MHD close a keep-alive connection,
            // so only remember the request here and answer on a later call.
            let state = RequestState()
            if let declared {
                state.body.reserveCapacity(Int(declared))
            }
            requestSlot.pointee = Unmanaged.passRetained(state).toOpaque()
            requestStarted()
            return .YES
        }
        let state = Unmanaged<RequestState>.fromOpaque(slot).takeUnretainedValue()
        let size = uploadDataSize.pointee
        if size > 0 {
            // MHD cannot queue a response while body data is arriving, so an oversized
            // chunked body is drained and answered with 413 at its end.
            if !state.bodyTooLarge, let uploadData, state.body.count + size <= maxBodyBytes {
                state.body.append(contentsOf: UnsafeRawBufferPointer(start: uploadData, count: size))
            } else if !state.bodyTooLarge {
                state.bodyTooLarge = true
                state.body = []
            }
            uploadDataSize.pointee = 0
            return .YES
        }
        if state.bodyTooLarge {
            return queue(tooLarge(declared: nil), on: connection)
        }
        var request = HTTPRequest(method: String(cString: method), path: String(cString: url))
        request.headers = MHDRequestReader.values(of: .HEADER_KIND, connection: connection, lowercasingNames: true)
        request.query = MHDRequestReader.values(of: .GET_ARGUMENT_KIND, connection: connection, lowercasingNames: false)
        request.remoteAddress = MHDRequestReader.remoteAddress(connection)
        request.body = state.body
        state.body = []
        return queue(handler(request), on: connection)
    }

    /// MHD's request-completed notice: runs for finished and aborted requests alike.
    func completed(requestSlot: UnsafeMutablePointer<UnsafeMutableRawPointer?>) {
        guard let slot = requestSlot.pointee else { return }
        Unmanaged<RequestState>.fromOpaque(slot).release()
        requestSlot.pointee = nil
        requestFinished()
    }

    private func tooLarge(declared: UInt64?) -> HTTPResponse {
        bodyRefused()
        let body = declared.map { "a body of \($0) bytes" } ?? "the body received so far"
        return .text("request body too large: \(body) is over the limit of \(maxBodyBytes) bytes\n", status: 413)
    }

    /// Answered before the body is read, and the connection is closed: after a framing error the
    /// bytes that follow cannot be trusted to start a request.
    private static func badFraming(_ reason: String) -> HTTPResponse {
        HTTPResponse.text("bad request framing: \(reason)\n", status: 400).adding(header: "Connection", "close")
    }
}
