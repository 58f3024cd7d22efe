#!/usr/bin/env bash
# Writes the /metrics output of the built exporter running its demo for a few seconds to $1.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: demo-metrics.sh OUTPUT_FILE}
port=$((20000 + RANDOM % 20000))
.build/debug/progress-exporter --demo --demo.item-seconds 0.2 --web.listen-address "127.0.0.1:$port" 2>/dev/null &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
    if curl -sf "http://127.0.0.1:$port/metrics" -o "$out" && grep -q '^progress_job_eta_seconds{' "$out"; then
        exit 0
    fi
    sleep 0.1
done
echo "the demo exporter did not produce ETC metrics within 10 s" >&2
exit 1
