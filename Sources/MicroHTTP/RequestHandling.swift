import CMicroHTTPD

/// Per-request state kept in MHD's `con_cls` between access-handler calls.
final class RequestState {
    var body: [UInt8] = []
    var bodyTooLarge = false
    /// The body did not fit in the memory budget; it is drained unread and answered with 503.
    var overBudget = false
    /// Bytes of the body budget this request holds.
    var reserved = 0
    /// Set while a worker runs the handler or the password check (the connection is suspended); holds
    /// its outcome after.
    var pending: PendingAnswer?
}

extension ServerContext {
    /// One access-handler call. MHD calls it once when the headers are in, once per
    /// piece of body, and once more with no data when the request is complete.
    func access(
        connection: OpaquePointer,
        url: UnsafePointer<CChar>,
        method: UnsafePointer<CChar>,
        version: UnsafePointer<CChar>?,
        uploadData: UnsafePointer<CChar>?,
        uploadDataSize: UnsafeMutablePointer<Int>,
        requestSlot: UnsafeMutablePointer<UnsafeMutableRawPointer?>
    ) -> MHD_Result {
        guard let slot = requestSlot.pointee else {
            // Before anything else, and before a body is read: who may ask at all.
            if let security {
                switch security.decide(
                    method: String(cString: method), path: String(cString: url),
                    authorization: MHDRequestReader.all("Authorization", connection: connection), connection: connection,
                    clientAuth: clientAuth) {
                case .allowed: break
                case .refused(let response): return queue(response, on: connection)
                case .slowCheck(let check):
                    // New credentials: bcrypt runs on a worker while the connection waits suspended, so a flood of
                    // wrong passwords never stalls the other connections of this poll thread.
                    let state = RequestState()
                    let pending = PendingAnswer(connection: ConnectionHandle(pointer: connection))
                    state.pending = pending
                    requestSlot.pointee = Unmanaged.passRetained(state).toOpaque()
                    requestStarted()
                    if handOff(pending: pending, work: { check().map { .respond($0) } ?? .proceed }) { return .YES }
                    state.pending = nil
                    if let refusal = check() { return queue(refusal, on: connection) }
                    return admit(connection, version: version, method: method, url: url, state: state)
                }
            }
            let state = RequestState()
            requestSlot.pointee = Unmanaged.passRetained(state).toOpaque()
            requestStarted()
            return admit(connection, version: version, method: method, url: url, state: state)
        }
        let state = Unmanaged<RequestState>.fromOpaque(slot).takeUnretainedValue()
        // Called again after a worker resumed the connection: its answer (or the password check's) is ready.
        if let pending = state.pending {
            guard let outcome = pending.take() else { return .YES }
            state.pending = nil
            switch outcome {
            case .respond(let response): return queue(response, on: connection)
            case .proceed: return admit(connection, version: version, method: method, url: url, state: state)
            }
        }
        let size = uploadDataSize.pointee
        if size > 0 {
            // MHD cannot queue a response while body data is arriving, so an oversized
            // chunked body is drained and answered with 413 at its end.
            if state.bodyTooLarge || state.overBudget {
                // Draining: nothing is kept.
            } else if let uploadData, state.body.count + size <= maxBodyBytes {
                if grow(state, toHold: state.body.count + size) {
                    state.body.append(contentsOf: UnsafeRawBufferPointer(start: uploadData, count: size))
                } else {
                    state.overBudget = true
                    drop(state)
                }
            } else {
                state.bodyTooLarge = true
                drop(state)
            }
            uploadDataSize.pointee = 0
            return .YES
        }
        if state.bodyTooLarge {
            return queue(tooLarge(declared: nil), on: connection)
        }
        if state.overBudget {
            return queue(overBudget(), on: connection)
        }
        // MHD leaves the URL escaped (pe_mhd_keep_escaped): decoded here for `path`, per segment by the router.
        let rawPath = String(cString: url)
        var request = HTTPRequest(method: String(cString: method), path: PercentDecoding.decode(rawPath), rawPath: rawPath)
        request.headers = MHDRequestReader.values(of: .HEADER_KIND, connection: connection, lowercasingNames: true)
        request.query = MHDRequestReader.values(of: .GET_ARGUMENT_KIND, connection: connection, lowercasingNames: false)
        request.remoteAddress = MHDRequestReader.remoteAddress(connection)
        request.body = state.body
        state.body = []
        // The body's bytes go back to the budget once the handler is done with them.
        let reserved = state.reserved
        state.reserved = 0
        // The request is in: the deadline for reading it no longer applies while the handler runs.
        connections.received(connection)
        let pending = PendingAnswer(connection: ConnectionHandle(pointer: connection))
        state.pending = pending
        let handler = handler
        let handled = handOff(pending: pending, work: { [bodies, request] in
            let response = handler(request)
            bodies.release(reserved)
            return .respond(response)
        }, dropped: { [bodies] in bodies.release(reserved) })
        if handled { return .YES }
        // No workers (or stopping): on this thread.
        state.pending = nil
        let response = handler(request)
        request.body = []
        bodies.release(reserved)
        return queue(response, on: connection)
    }

    /// The checks of a new request after its credentials: framing, `Host`, the application's gate and the
    /// body budget, all before a body byte is read: either a refusal is queued or the request goes on to
    /// its body.
    private func admit(
        _ connection: OpaquePointer, version: UnsafePointer<CChar>?, method: UnsafePointer<CChar>, url: UnsafePointer<CChar>,
        state: RequestState
    ) -> MHD_Result {
        if let problem = MHDRequestReader.malformedHeader(connection: connection) {
            return queue(Self.badFraming(problem), on: connection)
        }
        if let version, strcmp(version, "HTTP/1.1") == 0, MHDRequestReader.all("Host", connection: connection).count != 1 {
            return queue(Self.badFraming("an HTTP/1.1 request needs exactly one Host header (RFC 9112 section 3.2)"), on: connection)
        }
        // The application's own check (a bearer token), before any body byte is read or reserved.
        if let gate, let refusal = gate(String(cString: method), String(cString: url), MHDRequestReader.all("Authorization", connection: connection).first) {
            return queue(refusal.adding(header: "Connection", "close"), on: connection)
        }
        let declared: UInt64?
        switch RequestFraming.check(
            contentLengths: MHDRequestReader.all("Content-Length", connection: connection),
            transferEncodings: MHDRequestReader.all("Transfer-Encoding", connection: connection)) {
        case .refused(let reason): return queue(Self.badFraming(reason), on: connection)
        case .unsupported(let reason):
            return queue(HTTPResponse.text("not implemented: \(reason)\n", status: 501).adding(header: "Connection", "close"), on: connection)
        case .length(let length): declared = length
        }
        // Refusing here, before MHD sends "100 Continue", means the body is never read.
        if let declared, declared > UInt64(maxBodyBytes) {
            return queue(tooLarge(declared: declared), on: connection)
        }
        // Likewise a body that does not fit in the memory budget is refused before it is read.
        if let declared, declared > 0 {
            guard bodies.reserve(Int(declared)) else { return queue(overBudget(), on: connection) }
            state.reserved = Int(declared)
            state.body.reserveCapacity(Int(declared))
        }
        // Answering on this first call would make MHD close a keep-alive connection, so the request is
        // only remembered here and answered on a later call.
        return .YES
    }

    /// Makes room for `count` body bytes, reserving any growth of the buffer in the budget first.
    private func grow(_ state: RequestState, toHold count: Int) -> Bool {
        let capacity = state.body.capacity
        guard count > capacity else { return true }
        // A chunked body (or one longer than declared) grows geometrically, like an array would.
        let wanted = min(max(count, capacity * 2, 4096), max(count, maxBodyBytes))
        let extra = wanted - state.reserved
        if extra > 0 {
            guard bodies.reserve(extra) else { return false }
            state.reserved += extra
        }
        state.body.reserveCapacity(wanted)
        return true
    }

    private func drop(_ state: RequestState) {
        state.body = []
        bodies.release(state.reserved)
        state.reserved = 0
    }

    /// MHD's request-completed notice: runs for finished and aborted requests alike.
    func completed(requestSlot: UnsafeMutablePointer<UnsafeMutableRawPointer?>) {
        guard let slot = requestSlot.pointee else { return }
        let state = Unmanaged<RequestState>.fromOpaque(slot).takeRetainedValue()
        drop(state)
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

    /// 503 with `Retry-After`: the body would take the bytes buffered by all requests over the budget.
    private func overBudget() -> HTTPResponse {
        .text("the server is buffering too many request bodies (over \(bodies.limit) bytes); retry later\n", status: 503)
            .adding(header: "Retry-After", "1")
    }
}
