#!/usr/bin/env bash
# The structure the engine's design rests on, checked so it cannot drift back (issue 21):
# - the date is read only by the wall clock (Sources/Clocks); everything else takes a TimeSource;
# - one curl_global_init, in the one HTTP client (Sources/HTTPClient); no URLSession in the program;
# - the store's mutators (apply, tick, restore) are not public: the Ingestor is the one writer.
set -euo pipefail
cd "$(dirname "$0")/.."
failed=0
fail() { echo "structure: $1"; failed=1; }

# Swift sources without their comment lines (the page's JavaScript, which reads the browser's
# clock, is a file of its own: LivePage/Resources/live.js).
code() {
    grep -rn --include='*.swift' -E "$1" Sources | grep -vE '^[^:]+:[0-9]+:[[:space:]]*//' || true
}

dates=$(code '\bDate\(\)|\bDate\.now\b|Date\(timeIntervalSinceNow|CFAbsoluteTimeGetCurrent|gettimeofday|\btime\(nil\)' | grep -v '^Sources/Clocks/' || true)
[ -z "$dates" ] || fail "the date is read outside Sources/Clocks (take a TimeSource instead):
$dates"

monotonic=$(code 'DispatchTime\.now\(\)\.uptimeNanoseconds|clock_gettime\(|ContinuousClock\(\)|ContinuousClock\.now|SuspendingClock' | grep -v '^Sources/Clocks/' || true)
[ -z "$monotonic" ] || fail "monotonic time is read outside Sources/Clocks (use MonotonicClock):
$monotonic"

inits=$(code 'curl_global_init\(')
[ "$(printf '%s\n' "$inits" | grep -c .)" = 1 ] && [[ "$inits" == Sources/HTTPClient/* ]] \
    || fail "curl_global_init must be called once, in Sources/HTTPClient:
$inits"

sessions=$(code 'URLSession|FoundationNetworking')
[ -z "$sessions" ] || fail "URLSession in the program (use HTTPClient):
$sessions"

store_files=(Sources/Tracking/Writing/ProgressStore.swift Sources/Tracking/Snapshots/StoreSnapshot.swift)
for file in "${store_files[@]}"; do [ -f "$file" ] || fail "$file is gone: say here where the store's mutators live now"; done
mutators=$(grep -n -E 'public (func|var) (apply|tick|restore)\b' "${store_files[@]}" 2>/dev/null || true)
[ -z "$mutators" ] || fail "public store mutators (the Ingestor is the one writer):
$mutators"

[ "$failed" = 0 ] && echo "structure: one clock, one HTTP client, one writer"
exit "$failed"
