import HTTPCompression
import Testing

@Suite struct ContentCodingTests {
    @Test(arguments: [
        // Absent, empty, or naming only other codings: identity.
        (nil, ContentCoding.identity),
        ("", .identity),
        ("br, deflate", .identity),
        ("identity", .identity),
        // What Prometheus and curl --compressed send.
        ("gzip", .gzip),
        ("deflate, gzip", .gzip),
        ("gzip, deflate, br, zstd", .gzip),
        // Names are case-insensitive; x-gzip is gzip's old alias.
        ("GZip", .gzip),
        ("x-gzip", .gzip),
        // Weights: q=0 means "not acceptable", whatever its spelling.
        ("gzip;q=0", .identity),
        ("gzip; q=0.000", .identity),
        ("gzip;Q=0", .identity),
        ("gzip;q=0.5", .gzip),
        ("gzip ; q=1.0", .gzip),
        ("gzip;q=0.001", .gzip),
        // The wildcard covers gzip unless gzip is named.
        ("*", .gzip),
        ("*;q=0.1", .gzip),
        ("*;q=0", .identity),
        ("gzip;q=0, *", .identity),
        ("*, gzip;q=0", .identity),
        ("*;q=0, gzip", .gzip),
        // A client that prefers identity gets it; on a tie the server's preference (gzip) wins.
        ("identity;q=1, gzip;q=0.5", .identity),
        ("identity, gzip", .gzip),
        ("identity;q=0, gzip;q=0.2", .gzip),
        ("identity;q=0.5, *", .gzip),
        ("*;q=0.5, gzip;q=0.3", .identity),
        // Malformed weights count as 0.
        ("gzip;q=2", .identity),
        ("gzip;q=0.5000", .identity),
        ("gzip;q=abc", .identity),
        ("gzip;q=-1", .identity),
        ("gzip;q=", .identity),
        // Other parameters and empty list elements are ignored.
        ("gzip;level=9", .gzip),
        (" , gzip ,", .gzip),
    ] as [(String?, ContentCoding)])
    func negotiatesFromAcceptEncoding(header: String?, expected: ContentCoding) {
        #expect(ContentCoding.negotiate(acceptEncoding: header) == expected)
    }
}
