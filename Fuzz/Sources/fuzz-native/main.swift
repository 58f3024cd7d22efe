import Glibc
import CFuzzDriver
import Events
import ExporterApp
import FuzzCommon
import Tracking

/// One POST /events body: decoded and applied by the Ingestor into a fresh store, then read back
/// (/metrics, the JSON API), expired by an upkeep tick, and snapshotted and restored.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzNative(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let clock = FixedClock()
    // Every other input runs against small limits, so that a few events reach them.
    let options = size % 2 == 0 ? StoreOptions() : smallLimits()
    let store = ProgressStore(options: options, clock: clock)
    let ingestor = Ingestor(store: store, limits: DecoderLimits())
    let outcome = ingestor.ingestNative(fuzzBytes(data, size), source: "fuzz")
    precondition(outcome.rejections.count <= outcome.rejected, "more rejections listed than counted")
    readEverything(store)
    checkSnapshotRoundTrip(store, options: options, clock: clock)
    dumpSnapshotIfAsked(store)
    ingestor.tick()
    readEverything(store)
    return 0
}

// The entry point: libFuzzer's driver, with the function above as the target.
var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv, fuzzNative))
