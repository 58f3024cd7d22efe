import Glibc
import CFuzzDriver
import Events
import ExporterApp
import FuzzCommon
import Tracking

/// Prodigy event-log lines of one run: decoded line by line and applied by the Ingestor, then read back.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzProdigy(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let clock = FixedClock()
    // Every other input runs against small limits, so that a few events reach them.
    let options = size % 2 == 0 ? StoreOptions() : smallLimits()
    let store = ProgressStore(options: options, clock: clock)
    let ingestor = Ingestor(store: store, limits: DecoderLimits())
    ingestor.ingestProdigy(fuzzBytes(data, size), run: "repo/run-1", source: "fuzz")
    readEverything(store)
    checkSnapshotRoundTrip(store, options: options, clock: clock)
    return 0
}

// The entry point: libFuzzer's driver, with the function above as the target.
var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv, fuzzProdigy))
