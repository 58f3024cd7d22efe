import Foundation
import Testing
import TestSupport
@testable import ExporterApp

/// `export --url` and `top` read through the one HTTP client; a redirect (a proxy, a moved exporter)
/// is followed as URLSession followed it, a bounded number of times.
@Suite struct APIClientRedirectTests {
    @Test func aRedirectIsFollowedToTheAnswer() throws {
        let server = try EventStreamServer { _, request, connection in
            if request.head.hasPrefix("GET /old ") {
                connection.send("HTTP/1.1 302 Found\r\nLocation: /new\r\nContent-Length: 5\r\nConnection: close\r\n\r\nmoved")
            } else {
                connection.send("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 9\r\nConnection: close\r\n\r\n{\"one\":1}")
            }
        }
        defer { server.stop() }
        let (value, status) = try APIClient.get("http://127.0.0.1:\(server.port)/old", as: [String: Int].self, timeout: 5)
        #expect(status == 200)
        #expect(value == ["one": 1])
    }

    @Test func aRedirectLoopEndsWithAnError() throws {
        let server = try EventStreamServer { _, _, connection in
            connection.send("HTTP/1.1 302 Found\r\nLocation: /again\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        }
        defer { server.stop() }
        #expect(throws: JobExport.Failure.self) {
            try APIClient.get("http://127.0.0.1:\(server.port)/again", as: [String: Int].self, timeout: 5)
        }
    }
}
