import Events
import Testing

@Suite struct LogfmtTests {
    @Test(arguments: [
        ("plain", "plain"),
        ("", #""""#),
        ("two words", #""two words""#),
        (#"say "hi""#, #""say \"hi\"""#),
        ("a=b", #""a=b""#),
        ("line\rreturn", #""line\rreturn""#),
        ("line\nfeed", #""line\nfeed""#),
        ("tab\there", #""tab\there""#),
        ("bell\u{07}", #""bell\u0007""#),
        (#"back\slash"#, #"back\slash"#),
        (#"back\ and space"#, #""back\\ and space""#),
        ("café-ü-日本", "café-ü-日本"),
        ("ünï cödé", #""ünï cödé""#),
    ])
    func quotesOnlyWhatLogfmtNeeds(value: String, written: String) {
        #expect(Logfmt.value(value) == written)
    }

    @Test func aLineIsKeyValuePairsInOrder() {
        #expect(Logfmt.line([("level", "info"), ("msg", "hello world"), ("err", "")]) == #"level=info msg="hello world" err="""#)
    }

    @Test func timestampsAreRFC3339InUTCWithMilliseconds() {
        #expect(Logfmt.timestamp(1_700_000_000.123) == "2023-11-14T22:13:20.123Z")
        #expect(Logfmt.timestamp(0) == "1970-01-01T00:00:00.000Z")
        #expect(Logfmt.timestamp(1_700_000_000.9996) == "2023-11-14T22:13:21.000Z")
        #expect(Logfmt.timestamp(-0.5) == "1969-12-31T23:59:59.500Z")
    }

    @Test(arguments: [(0.0, "0s"), (30, "30s"), (300, "5m"), (5400, "1h30m"), (0.25, "250ms"), (86_400, "1d"), (90_061.5, "1d1h1m1s500ms"), (604_800, "1w")])
    func durationsAreWrittenAsPrometheusWritesThem(seconds: Double, text: String) {
        #expect(PromDuration.format(seconds) == text)
        #expect(PromDuration.parse(text) == seconds)
    }
}
