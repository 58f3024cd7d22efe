import CMicroHTTPD

/// Keeps a byte body alive until MHD has sent it, so it is never copied.
final class BodyBox {
    let bytes: [UInt8]

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }
}

/// Ties a stream to the context that tracks it, for the stream's C callbacks.
final class StreamBox {
    let stream: HTTPStream
    let context: ServerContext

    init(_ stream: HTTPStream, _ context: ServerContext) {
        self.stream = stream
        self.context = context
    }
}

extension ServerContext {
    /// Hands `response` to MHD for `connection`.
    func queue(_ response: HTTPResponse, on connection: OpaquePointer) -> MHD_Result {
        // The request is in (or refused unread): the deadline no longer applies to it.
        connections.received(connection)
        var response = response
        if case .stream(let stream) = response.body, let refusal = claim(stream, for: connection) {
            response = refusal
        }
        guard let made = makeResponse(response.body) else {
            return .NO
        }
        for header in response.headers where MHD_add_response_header(made, header.name, header.value) == .NO {
            MHD_destroy_response(made)
            return queue(.text("the handler produced an invalid response header\n", status: 500), on: connection)
        }
        let result = MHD_queue_response(connection, UInt32(clamping: response.status), made)
        // MHD keeps its own reference while sending; this drops ours.
        MHD_destroy_response(made)
        return result
    }

    /// Binds a stream to this connection and to `stop`; a response to send instead when it cannot be.
    private func claim(_ stream: HTTPStream, for connection: OpaquePointer) -> HTTPResponse? {
        guard stream.attach(to: ConnectionHandle(pointer: connection)) else {
            return .text("a stream can be sent only once\n", status: 500)
        }
        guard register(stream) else {
            stream.detach()
            return .text("the server is stopping\n", status: 503)
        }
        return nil
    }

    private func makeResponse(_ body: HTTPResponse.Body) -> OpaquePointer? {
        switch body {
        case .bytes(let bytes):
            if bytes.isEmpty {
                return MHD_create_response_from_buffer(0, nil, .RESPMEM_PERSISTENT)
            }
            let box = Unmanaged.passRetained(BodyBox(bytes))
            // The array's storage stays put while the box holds it unmodified.
            let base = box.takeUnretainedValue().bytes.withUnsafeBufferPointer {
                UnsafeMutableRawPointer(mutating: $0.baseAddress!)
            }
            let made = MHD_create_response_from_buffer_with_free_callback_cls(
                bytes.count, base, Trampolines.releaseBody, box.toOpaque())
            if made == nil { box.release() }
            return made
        case .pieces(let pieces):
            let vectors = pieces.buffers.map { MHD_IoVec(iov_base: $0.baseAddress, iov_len: $0.count) }
            if vectors.isEmpty {
                return MHD_create_response_from_buffer(0, nil, .RESPMEM_PERSISTENT)
            }
            let box = Unmanaged.passRetained(pieces)
            // MHD copies the vector array; the memory it points to stays with `pieces` until released.
            let made = MHD_create_response_from_iovec(
                vectors, UInt32(vectors.count), Trampolines.releasePieces, box.toOpaque())
            if made == nil { box.release() }
            return made
        case .stream(let stream):
            let box = Unmanaged.passRetained(StreamBox(stream, self))
            // Unknown size: MHD sends chunked, one chunk per read.
            let made = MHD_create_response_from_callback(
                UInt64.max, 16 * 1024, Trampolines.readStream, box.toOpaque(), Trampolines.releaseStream)
            if made == nil { Trampolines.releaseStream(box.toOpaque()) }
            return made
        }
    }
}
