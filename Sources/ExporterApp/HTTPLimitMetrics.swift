import Exposition
import MicroHTTP

/// Self-metrics of the HTTP server's limits: what they refused or cut, and what they hold now.
enum HTTPLimitMetrics {
    static let openConnections = MetricFamily(
        "progress_exporter_http_open_connections", .gauge, help: "HTTP connections open now.")
    static let connectionsRefused = MetricFamily(
        "progress_exporter_http_connections_refused_total", .counter,
        help: "HTTP connections closed on arrival, by the limit they hit: max_connections (--web.max-connections) or max_connections_per_ip (--web.max-connections-per-ip).")
    static let connectionsEvicted = MetricFamily(
        "progress_exporter_http_connections_evicted_total", .counter,
        help: "HTTP connections closed to let a new client in when --web.max-connections were open: the one of the busiest address that had waited longest for its request (else its oldest).")
    static let requestTimeouts = MetricFamily(
        "progress_exporter_http_request_timeouts_total", .counter,
        help: "HTTP connections closed because a request they had begun was not in within --web.request-timeout.")
    static let bodiesRefused = MetricFamily(
        "progress_exporter_http_body_buffer_refusals_total", .counter,
        help: "Requests answered 503 because their body would take the bytes buffered over --web.max-body-buffer-bytes.")
    static let bodyBytesBuffered = MetricFamily(
        "progress_exporter_http_body_buffered_bytes", .gauge,
        help: "Bytes of request bodies held in memory now (counted against --web.max-body-buffer-bytes).")

    static let maxConnectionsLabels = LabelSet([("limit", "max_connections")])
    static let maxConnectionsPerIPLabels = LabelSet([("limit", "max_connections_per_ip")])

    static func write(_ counts: HTTPServer.LimitCounts, into writer: inout ExpositionWriter) {
        writer.family(openConnections)
        writer.sample(openConnections, .empty, .empty, Double(counts.openConnections))
        writer.family(connectionsRefused)
        writer.sample(connectionsRefused, maxConnectionsLabels, .empty, Double(counts.refusedForMaxConnections))
        writer.sample(connectionsRefused, maxConnectionsPerIPLabels, .empty, Double(counts.refusedForMaxConnectionsPerIP))
        writer.family(connectionsEvicted)
        writer.sample(connectionsEvicted, .empty, .empty, Double(counts.evictedForMaxConnections))
        writer.family(requestTimeouts)
        writer.sample(requestTimeouts, .empty, .empty, Double(counts.requestTimeouts))
        writer.family(bodiesRefused)
        writer.sample(bodiesRefused, .empty, .empty, Double(counts.bodiesRefusedForBuffer))
        writer.family(bodyBytesBuffered)
        writer.sample(bodyBytesBuffered, .empty, .empty, Double(counts.bodyBytesBuffered))
    }
}
