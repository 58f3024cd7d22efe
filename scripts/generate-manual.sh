#!/usr/bin/env bash
# Regenerates docs/progress-exporter.1, the man page, from the command's flag definitions (the same
# ones --help prints): builds the binary, reads its --experimental-dump-help and writes the page with
# scripts/manual-from-help.py (each flag once, a short synopsis, EXAMPLES). Run it after changing a
# flag; CommandLineTests checks that the page names every flag --help lists, and that `man` reads it
# without a warning.
#
#   scripts/generate-manual.sh
#
# The page's date is that of the last commit that changed the command's sources, so regenerating
# without a change gives the same file.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
date=$(git log -1 --format=%cs -- Sources/progress-exporter Sources/ExporterApp/BuildInfo.swift 2>/dev/null || true)
[ -n "$date" ] || date=$(date -u +%F)
swift build --product progress-exporter >/dev/null
"$(swift build --show-bin-path)/progress-exporter" --experimental-dump-help \
    | python3 scripts/manual-from-help.py --date "$date" > docs/progress-exporter.1.new
mv docs/progress-exporter.1.new docs/progress-exporter.1
echo "wrote docs/progress-exporter.1"
