#pragma once
#include <stddef.h>
#include <stdint.h>

/// libFuzzer's driver (in libclang_rt.fuzzer, linked by -sanitize=fuzzer). The fuzz executables call
/// it from their own entry point: SwiftPM links executables with `main` defined as the module's
/// `<module>_main`, so libFuzzer's own `main` is never linked in.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
