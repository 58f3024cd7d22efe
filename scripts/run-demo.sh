#!/usr/bin/env bash
# Installs what is missing, builds, and runs the exporter on its built-in demo at http://localhost:9465/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
export PATH="/opt/swift/usr/bin:$PATH"
swift build -c release
exec .build/release/progress-exporter --demo "$@"
