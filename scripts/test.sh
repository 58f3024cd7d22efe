#!/usr/bin/env bash
# Runs every test: installs what is missing, builds (warnings in our code fail the build), runs
# swift test (unit, golden, end-to-end with the real binary, promtool), then the monitoring-file checks.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
export PATH="/opt/swift/usr/bin:$PATH"

build_log=$(mktemp)
swift build --build-tests 2>&1 | tee "$build_log"
if grep -E "^$(pwd)/(Sources|Tests|Benchmarks)/.*warning:" "$build_log"; then
    echo "error: the build has warnings in our code (above)"
    exit 1
fi
swift test --skip-build 2>&1 | tee "$build_log"

if [ -x scripts/check-monitoring-files.sh ]; then
    metrics=$(mktemp)
    bash scripts/demo-metrics.sh "$metrics"
    bash scripts/check-monitoring-files.sh "$metrics"
fi
