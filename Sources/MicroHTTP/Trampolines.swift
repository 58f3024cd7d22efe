import CMicroHTTPD

/// The C entry points MHD calls. They capture nothing (C function pointers cannot);
/// each finds its Swift object through the `cls` pointer and hands over at once.
enum Trampolines {
    static let access: MHD_AccessHandlerCallback = { cls, connection, url, method, version, uploadData, uploadDataSize, requestSlot in
        guard let cls, let connection, let url, let method, let uploadDataSize, let requestSlot else { return .NO }
        return Unmanaged<ServerContext>.fromOpaque(cls).takeUnretainedValue().access(
            connection: connection, url: url, method: method, version: version,
            uploadData: uploadData, uploadDataSize: uploadDataSize, requestSlot: requestSlot)
    }

    static let completed: MHD_RequestCompletedCallback = { cls, connection, requestSlot, _ in
        guard let cls, let requestSlot else { return }
        let context = Unmanaged<ServerContext>.fromOpaque(cls).takeUnretainedValue()
        context.completed(requestSlot: requestSlot)
        if let connection { context.connections.completed(connection, now: ServerContext.now()) }
    }

    static let acceptPolicy: MHD_AcceptPolicyCallback = { cls, address, _ in
        guard let cls else { return .YES }
        return Unmanaged<ServerContext>.fromOpaque(cls).takeUnretainedValue().connections.admit(address) ? .YES : .NO
    }

    static let notifyConnection: MHD_NotifyConnectionCallback = { cls, connection, _, event in
        guard let cls, let connection else { return }
        let connections = Unmanaged<ServerContext>.fromOpaque(cls).takeUnretainedValue().connections
        switch event {
        case .CONNECTION_NOTIFY_STARTED:
            connections.opened(
                connection, descriptor: pe_mhd_connection_fd(connection),
                address: pe_mhd_client_address(connection), now: ServerContext.now())
        case .CONNECTION_NOTIFY_CLOSED:
            connections.closed(connection)
        }
    }

    static let releaseBody: MHD_ContentReaderFreeCallback = { cls in
        guard let cls else { return }
        Unmanaged<BodyBox>.fromOpaque(cls).release()
    }

    static let releasePieces: MHD_ContentReaderFreeCallback = { cls in
        guard let cls else { return }
        Unmanaged<ResponsePieces>.fromOpaque(cls).release()
    }

    static let readStream: MHD_ContentReaderCallback = { cls, _, buffer, max in
        guard let cls, let buffer else { return endWithError }
        let box = Unmanaged<StreamBox>.fromOpaque(cls).takeUnretainedValue()
        switch box.stream.read(into: UnsafeMutableRawBufferPointer(start: buffer, count: max)) {
        case .bytes(let count): return count
        // Legal only because the stream suspended the connection: MHD will not poll it again until resumed.
        case .waiting: return 0
        case .end: return endOfStream
        }
    }

    static let releaseStream: MHD_ContentReaderFreeCallback = { cls in
        guard let cls else { return }
        let box = Unmanaged<StreamBox>.fromOpaque(cls).takeRetainedValue()
        box.stream.detach()
        box.context.unregister(box.stream)
    }

    // MHD_CONTENT_READER_END_OF_STREAM and _WITH_ERROR are casts, which Swift does not import.
    private static let endOfStream = -1
    private static let endWithError = -2
}
