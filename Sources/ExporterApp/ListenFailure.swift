import MicroHTTP

/// The HTTP server could not listen: the message names the flag that sets the address, so the fix
/// is one flag away (`http: listen :9465: address already in use (--web.listen-address: …)`).
struct ListenFailure: Error, CustomStringConvertible {
    let error: HTTPServerError

    var description: String {
        switch error {
        case .listen(_, let reason) where reason.contains("in use"):
            "\(error) (--web.listen-address: another process listens there, perhaps another exporter; stop it or give another address, e.g. --web.listen-address=:9466)"
        case .listen, .daemon, .invalidListenAddress:
            "\(error) (set by --web.listen-address)"
        case .invalidOption, .alreadyRunning:
            "\(error)"
        }
    }
}
