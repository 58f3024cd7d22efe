import Events

extension Event {
    /// A copy changed by `change`, so expected events read as one expression.
    func with(_ change: (inout Event) -> Void) -> Event {
        var copy = self
        change(&copy)
        return copy
    }
}

extension NativeEventDecoder {
    func decode(_ line: String) -> Result<Event, EventDecodeError> {
        decode(line: Array(line.utf8))
    }

    /// Decodes `body` and returns what was kept and what was rejected, in order.
    func decodeBody(_ body: String) -> (events: [Event], rejects: [(line: Int, error: EventDecodeError)]) {
        var events: [Event] = []
        var rejects: [(line: Int, error: EventDecodeError)] = []
        decodeBody(Array(body.utf8), onEvent: { events.append($0) }, onReject: { rejects.append(($0, $1)) })
        return (events, rejects)
    }
}

extension Result where Failure == EventDecodeError {
    var error: EventDecodeError? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
