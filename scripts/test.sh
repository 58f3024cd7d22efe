#!/usr/bin/env bash
# Runs every test: installs what is missing, checks the structure (scripts/check-structure.sh), builds (warnings in our code fail the build), runs
# swift test (unit, golden, end-to-end with the real binary, promtool), the browser test, the JSON
# API against docs/openapi.yaml, the Python client's tests, then the monitoring-file checks, the
# documentation's links and its coverage of the man page's flags.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
export PATH="/opt/swift/usr/bin:$PATH"

# One clock, one HTTP client, one writer: seconds, before the build.
bash scripts/check-structure.sh

build_log=$(mktemp)
swift build --build-tests 2>&1 | tee "$build_log"
if grep -E "^$(pwd)/(Sources|Tests|Benchmarks)/.*warning:" "$build_log"; then
    echo "error: the build has warnings in our code (above)"
    exit 1
fi
swift test --skip-build 2>&1 | tee "$build_log"
# Swift Testing's own summary, e.g. "Test run with 221 tests in 43 suites passed".
passed=$(grep -Eo 'Test run with [0-9]+ tests' "$build_log" | grep -Eo '[0-9]+' | tail -1)

# The live page in a real headless Chromium (scripts/browser-test.py): its checks count as tests.
browser_log=$(mktemp)
python3 scripts/browser-test.py "$(swift build --show-bin-path)/progress-exporter" 2>&1 | tee "$browser_log"
browser_passed=$(grep -Eo '^browser: [0-9]+ checks passed' "$browser_log" | grep -Eo '[0-9]+' || true)
[ -n "$browser_passed" ] || { echo "error: the browser test did not pass"; exit 1; }
passed=$(( ${passed:-0} + browser_passed ))

# The JSON API against its contract, docs/openapi.yaml (scripts/check-openapi.py, in the venv that
# scripts/install-deps.sh made): its checks count as tests.
openapi_log=$(mktemp)
.build-openapi/venv/bin/python scripts/check-openapi.py "$(swift build --show-bin-path)/progress-exporter" 2>&1 | tee "$openapi_log"
openapi_passed=$(grep -Eo '^openapi: [0-9]+ checks passed$' "$openapi_log" | grep -Eo '[0-9]+' || true)
[ -n "$openapi_passed" ] || { echo "error: the OpenAPI check did not pass"; exit 1; }
passed=$(( passed + openapi_passed ))

# The Python client (clients/python) against the real binary: its pytest tests count as tests.
client_log=$(mktemp)
PYTHONDONTWRITEBYTECODE=1 python3 -m pytest -q -p no:cacheprovider clients/python/tests \
    --exporter "$(swift build --show-bin-path)/progress-exporter" 2>&1 | tee "$client_log"
client_passed=$(grep -Eo '^[0-9]+ passed' "$client_log" | grep -Eo '[0-9]+' || true)
[ -n "$client_passed" ] || { echo "error: the Python client's tests did not pass"; exit 1; }
passed=$(( passed + client_passed ))

# Dashboards and Prometheus rules: promtool checks and tests, and every metric they use must exist
# in the demo's real /metrics.
metrics=$(mktemp)
bash scripts/demo-metrics.sh "$metrics"
bash scripts/check-monitoring-files.sh "$metrics"

# Documentation links resolve inside the repository, and every flag in the man page is documented.
python3 scripts/check-doc-links.py
python3 scripts/check-manual-flags.py

# Fuzzing (scripts/fuzz.sh): FUZZ_SECONDS in all across the three targets (default 45, so 15 s
# each, after an address-sanitized release build of its own); 0 skips it. A crash fails the run.
if [[ "${FUZZ_SECONDS:-45}" != 0 ]]; then
    bash scripts/fuzz.sh "${FUZZ_SECONDS:-45}"
fi

echo "${passed:-0} passed, 0 failed"
