#!/usr/bin/env bash
# Builds the libFuzzer targets (Fuzz/) with the address sanitizer and runs each for a bounded time.
#
#   bash scripts/fuzz.sh [SECONDS]     SECONDS in all, split evenly across the targets (default 60)
#   FUZZ_SEED=N                        libFuzzer's random seed (default 1, so a CI run repeats itself;
#                                      0 lets libFuzzer pick one, for longer exploring runs)
#
# FUZZ_TARGETS picks targets (default "fuzz-native fuzz-prodigy fuzz-snapshot fuzz-http"; fuzz-http sends raw
# requests to a running exporter's HTTP server). Each target starts
# from the committed seeds (Fuzz/corpus/native, prodigy, snapshot) plus what earlier runs found (.build-fuzz/corpus,
# not committed) and uses Fuzz/json.dict (Fuzz/snapshot.dict for snapshots). A crash, sanitizer report, timeout or out-of-memory makes
# the script exit 1 after all targets ran; the input is kept as Fuzz/crashes/<target>-crash-<sha1>
# (replay it with .build-fuzz/release/<target> FILE) and the log as .build-fuzz/logs/<target>.log.
#
# The targets are declared in Package.swift only when PROGRESS_EXPORTER_FUZZ=1 and are built into
# their own scratch path, so the normal `swift build` and its .build are never touched.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
# Swift's own crash backtracer would sit on a crashing target (and the pipe) instead of letting
# libFuzzer and ASan report and save the input.
export SWIFT_BACKTRACE=enable=no

total=${1:-60}
targets=(${FUZZ_TARGETS:-fuzz-native fuzz-prodigy fuzz-snapshot fuzz-http})
per_target=$(( total / ${#targets[@]} ))
(( per_target >= 1 )) || per_target=1
scratch=.build-fuzz

# Swift code: libFuzzer's coverage and runtime plus ASan (each target's main.swift calls
# LLVMFuzzerRunDriver itself, as SwiftPM defines `main` as the module's entry point). C and C++ (the simdjson and RE2
# shims): coverage without libFuzzer's main, and ASan. The system simdjson library itself is not
# instrumented.
flags=(
    -c release --scratch-path "$scratch"
    -Xswiftc -sanitize=fuzzer,address
    -Xcc -fsanitize=fuzzer-no-link,address -Xcxx -fsanitize=fuzzer-no-link,address
)
for target in "${targets[@]}"; do
    echo "== building $target"
    PROGRESS_EXPORTER_FUZZ=1 swift build "${flags[@]}" --product "$target" 2>&1 | grep -Ev '^\[[0-9]+/[0-9]+\]' || true
    test -x "$scratch/release/$target" || { echo "error: $target did not build"; exit 1; }
done

mkdir -p Fuzz/crashes "$scratch/logs"
failed=()
for target in "${targets[@]}"; do
    corpus="$scratch/corpus/$target"
    mkdir -p "$corpus"
    seeds="Fuzz/corpus/${target#fuzz-}"
    log="$scratch/logs/$target.log"
    # Bodies and lines up to 16 KiB; snapshots of a few jobs are larger.
    max_len=16384 dict=Fuzz/json.dict
    if [[ $target == fuzz-snapshot ]]; then max_len=65536 dict=Fuzz/snapshot.dict; fi
    # Raw requests to the running server: a few KiB reach every framing edge (the body limit is 4 KiB).
    if [[ $target == fuzz-http ]]; then max_len=8192 dict=Fuzz/http.dict; fi
    echo "== fuzzing $target for ${per_target}s (log: $log)"
    # Leaks are checked too (LeakSanitizer): a store that leaks per event would show here.
    set +e
    ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=0:detect_stack_use_after_return=0}" \
        "$scratch/release/$target" "$corpus" "$seeds" \
        -dict="$dict" -max_total_time="$per_target" -max_len="$max_len" -timeout=10 -rss_limit_mb=2048 \
        -seed="${FUZZ_SEED:-1}" \
        -artifact_prefix="Fuzz/crashes/$target-" -print_final_stats=1 >"$log" 2>&1
    status=$?
    set -e
    grep -E '^#[0-9]+.*(INITED|DONE)' "$log" | tail -2 || true
    grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' "$log" || true
    if (( status != 0 )); then
        echo "!! $target failed (exit $status):"
        grep -E 'ERROR|Fatal error|SUMMARY|Test unit written|Precondition' "$log" | head -20 || true
        failed+=("$target")
    fi
done

if (( ${#failed[@]} > 0 )); then
    echo "fuzzing found problems in: ${failed[*]} (inputs in Fuzz/crashes/)"
    exit 1
fi
echo "fuzzing: no crash in ${targets[*]} (${per_target}s each)"
