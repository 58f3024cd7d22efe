#!/usr/bin/env bash
# Regenerates docs/progress-exporter.1, the man page, from the command's flag definitions (the same
# ones --help prints) with swift-argument-parser's generate-manual plugin. Run it after changing a
# flag; CommandLineTests checks that the page names every flag --help lists.
#
#   scripts/generate-manual.sh
#
# Works offline once the packages are resolved. The page's date is that of the last commit that
# changed the command's sources, so regenerating without a change gives the same file.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
date=$(git log -1 --format=%cs -- Sources/progress-exporter Sources/ExporterApp/BuildInfo.swift 2>/dev/null || true)
[ -n "$date" ] || date=$(date -u +%F)
swift package --allow-writing-to-package-directory generate-manual \
    --configuration debug --date "$date" --section 1
out=.build/plugins/GenerateManual/outputs/progress-exporter/progress-exporter.1
[ -f "$out" ] || out=$(find .build/plugins/GenerateManual/outputs -name 'progress-exporter.1' | head -1)
mkdir -p docs
cp "$out" docs/progress-exporter.1
echo "wrote docs/progress-exporter.1 (from $out)"
