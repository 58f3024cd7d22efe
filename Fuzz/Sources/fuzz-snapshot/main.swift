import Glibc
import CFuzzDriver
import Events
import FuzzCommon
import Tracking

/// Arbitrary bytes as a snapshot: `restore(from:)` must throw or succeed, never trap, and what it
/// restored must be readable.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSnapshot(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let store = ProgressStore(clock: FixedClock())
    let ingestor = Ingestor(store: store, limits: DecoderLimits())
    do {
        try ingestor.restore(from: fuzzBytes(data, size))
    } catch {
        return 0
    }
    readEverything(store)
    ingestor.tick()
    readEverything(store)
    return 0
}

// The entry point: libFuzzer's driver, with the function above as the target.
var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv, fuzzSnapshot))
