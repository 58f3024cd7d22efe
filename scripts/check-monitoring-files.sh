#!/usr/bin/env bash
# Checks the monitoring files shipped with progress-exporter: Alerts/ (Prometheus rules,
# their unit tests, the example Prometheus config) and Dashboards/ (Grafana JSON and
# provisioning), and that every metric name they use exists in the exporter's /metrics.
#
# Usage: scripts/check-monitoring-files.sh [METRICS_FILE]
#   METRICS_FILE  the exporter's real /metrics output (text or OpenMetrics), `-` for stdin,
#                 or an http(s) URL to fetch it from. Without it, metric names are checked
#                 against the hand-written scripts/monitoring/sample-metrics.prom.
#   e.g. curl -s localhost:9465/metrics > /tmp/metrics.prom
#        scripts/check-monitoring-files.sh /tmp/metrics.prom
#
# Prints one line per check (ok / FAIL, with details under a failure) and exits 1 if any
# check failed, 2 on bad usage. Needs promtool (Debian package `prometheus`) and python3
# with PyYAML and the pinned grafana-foundation-sdk (scripts/install-deps.sh installs all).
set -uo pipefail
export PYTHONDONTWRITEBYTECODE=1   # no __pycache__ in the work tree

cd "$(dirname "$0")/.." || exit 2
here=scripts/monitoring

if [ $# -gt 1 ] || [ "${1:-}" = "-h" ] || [ "${1:-}" = "--help" ]; then
    sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
fi

failures=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# check NAME [--quiet-ok] CMD...: runs CMD, prints "ok NAME" or "FAIL NAME" and CMD's output.
# With --quiet-ok, CMD's output is shown only on failure (promtool is chatty).
check() {
    local name=$1 quiet=0
    shift
    if [ "$1" = "--quiet-ok" ]; then quiet=1; shift; fi
    local out rc
    out=$("$@" 2>&1)
    rc=$?
    if [ $rc -eq 0 ]; then
        printf 'ok    %s\n' "$name"
        [ $quiet -eq 0 ] && [ -n "$out" ] && printf '%s\n' "$out"
    else
        printf 'FAIL  %s\n' "$name"
        printf '%s\n' "$out" | sed 's/^/      /'
        failures=$((failures + 1))
    fi
    return 0
}

missing_tool=0
if ! command -v promtool >/dev/null 2>&1; then
    echo "FAIL  promtool not found (install the Debian package 'prometheus', see scripts/install-deps.sh)"
    failures=$((failures + 1)); missing_tool=1
fi
if ! python3 -c 'import yaml' >/dev/null 2>&1; then
    echo "FAIL  python3 with PyYAML not found"
    failures=$((failures + 1)); missing_tool=1
fi
if [ $missing_tool -eq 1 ]; then
    echo "monitoring files: $failures check(s) failed"
    exit 1
fi

shopt -s nullglob
tests=(Alerts/tests/*.test.yml)
shopt -u nullglob

check "promtool check rules Alerts/progress-exporter.rules.yml" --quiet-ok \
    promtool check rules Alerts/progress-exporter.rules.yml
if [ ${#tests[@]} -eq 0 ]; then
    echo "FAIL  promtool test rules: no Alerts/tests/*.test.yml"
    failures=$((failures + 1))
else
    check "promtool test rules ${tests[*]}" --quiet-ok promtool test rules "${tests[@]}"
fi
check "promtool check config Alerts/prometheus.example.yml" --quiet-ok \
    promtool check config Alerts/prometheus.example.yml
check "alerts have for, severity, summary, description, a runbook section and unit tests" \
    python3 $here/checks.py rules-meta
check "PromQL name extraction self-test" python3 $here/checks.py selftest
check "dashboards: valid JSON, schemaVersion 39, datasource and job variables, every panel has \${datasource} and a query" \
    python3 $here/checks.py dashboards
check "dashboard queries parse as PromQL (promtool check rules)" --quiet-ok \
    sh -c "python3 $here/checks.py dashboard-rules $tmp/dashboard-queries.yml && promtool check rules $tmp/dashboard-queries.yml"
check "dashboards are exactly what scripts/monitoring/gen_dashboards.py generates (grafana-foundation-sdk, pinned)" \
    python3 $here/gen_dashboards.py --check
check "Grafana provisioning examples" python3 $here/checks.py provisioning

metrics=${1:-}
if [ -z "$metrics" ]; then
    metrics=$here/sample-metrics.prom
    check "sample metrics file is valid exposition (promtool check metrics)" --quiet-ok \
        sh -c "promtool check metrics < $metrics"
    label="metric names used by dashboards and rules exist in $metrics (hand-written sample; pass real /metrics output to check the exporter)"
else
    case "$metrics" in
        http://* | https://*)
            if ! curl -fsS --max-time 30 -o "$tmp/metrics" "$metrics"; then
                echo "FAIL  cannot fetch $metrics"
                failures=$((failures + 1))
            fi
            metrics_src=$metrics
            metrics=$tmp/metrics
            ;;
        -)
            cat > "$tmp/metrics"
            metrics_src="standard input"
            metrics=$tmp/metrics
            ;;
        *)
            metrics_src=$metrics
            if [ ! -r "$metrics" ]; then
                echo "FAIL  cannot read $metrics"
                failures=$((failures + 1))
            fi
            ;;
    esac
    label="metric names used by dashboards and rules exist in $metrics_src"
fi
if [ -r "$metrics" ]; then
    check "$label" python3 $here/checks.py names "$metrics"
fi

if [ $failures -eq 0 ]; then
    echo "monitoring files: all checks passed"
    exit 0
fi
echo "monitoring files: $failures check(s) failed"
exit 1
