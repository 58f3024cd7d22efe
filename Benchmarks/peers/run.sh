#!/usr/bin/env bash
# Measures progress-exporter over HTTP and beside the peers a user would otherwise pick
# (pushgateway, python prometheus_client, nginx serving the same bytes), all serving the same
# series, and writes Benchmarks/peers/RESULTS.md. See Benchmarks/peers/README.md.
#
#   Benchmarks/peers/run.sh [AGENTS...]        default: 1000 10000
#
# Environment (all optional):
#   PEERS_PORT_BASE=19460      ports BASE+1..BASE+5 on 127.0.0.1 (exporter, pushgateway, python, nginx, prometheus)
#   PEERS_PROM_SECONDS=30      how long Prometheus scrapes all four targets together (after their first scrapes)
#   PEERS_PROM_EACH_SECONDS=20 the same for a fresh Prometheus per target alone (0: skip)
#   PEERS_PROM_MAX_AGENTS=10000  above this many agents the Prometheus runs are skipped (memory)
#   PEERS_PROM_INTERVAL=N      scrape interval = timeout in seconds (default 2 up to 2,000 agents, else 5; python 10/20)
#   PEERS_INGEST_SECONDS=10    length of each wrk run
#   PEERS_GET_BUDGET=120       seconds of sequential GETs per server at most (fewer than 15 GETs only then)
#   PEERS_SERVERS="exporter pushgateway python nginx"  the servers to start and measure (the exporter always runs;
#                              Prometheus runs only with all four)
#   PEERS_NO_BUILD=1           never build; use .build/release/progress-exporter as it is
#   PEERS_GET_ONLY=1           skip the ingest and latency measurements
#   PEERS_BIN=path             measure this exporter binary instead (never builds), e.g. a copy of an older build
#   PEERS_BUILD_TIMEOUT=1200   seconds a needed build may take (waiting for .build's lock included)
#   PEERS_KEEP=1               keep the work folder (bodies, logs, raw timings)
#   PEERS_OUT=path             where the markdown goes (default Benchmarks/peers/RESULTS.md)
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
if [ $# -gt 0 ]; then AGENT_COUNTS=("$@"); else AGENT_COUNTS=(1000 10000); fi
BASE=${PEERS_PORT_BASE:-19460}
P_EXPORTER=$((BASE + 1)) P_PUSHGATEWAY=$((BASE + 2)) P_PYTHON=$((BASE + 3)) P_NGINX=$((BASE + 4)) P_PROM=$((BASE + 5))
PROM_SECONDS=${PEERS_PROM_SECONDS:-30}
PROM_EACH_SECONDS=${PEERS_PROM_EACH_SECONDS:-20}
PROM_MAX_AGENTS=${PEERS_PROM_MAX_AGENTS:-10000}
INGEST_SECONDS=${PEERS_INGEST_SECONDS:-10}
GET_BUDGET=${PEERS_GET_BUDGET:-120}
OUT=${PEERS_OUT:-$HERE/RESULTS.md}
JOBS=10
BIN=${PEERS_BIN:-$ROOT/.build/release/progress-exporter}
# What Prometheus 2.42 sends; used to see what each target serves it.
PROM_ACCEPT='application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1'
TICKS=$(getconf CLK_TCK)

log() { printf '[peers %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# ---------------------------------------------------------------- set-up
install_missing() {
    local packages=(prometheus-pushgateway prometheus wrk curl python3) missing=() p
    # nginx-light is enough (static files, map); a full nginx does as well.
    dpkg-query -W -f='${Status}' nginx-light 2>/dev/null | grep -q "install ok installed" ||
        dpkg-query -W -f='${Status}' nginx 2>/dev/null | grep -q "install ok installed" || missing+=(nginx-light)
    for p in "${packages[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    local sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
    if [ ${#missing[@]} -gt 0 ]; then
        log "installing: ${missing[*]}"
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
    if ! python3 -c 'import prometheus_client' 2>/dev/null; then
        log "installing python prometheus_client (pip)"
        python3 -m pip install -q prometheus_client
    fi
}

build_if_needed() {
    [ -n "${PEERS_BIN:-}" ] && { [ -x "$BIN" ] || die "PEERS_BIN=$BIN is not an executable"; return; }
    [ "${PEERS_NO_BUILD:-}" = 1 ] && { [ -x "$BIN" ] || die "no $BIN and PEERS_NO_BUILD=1"; return; }
    local newer=""
    [ -x "$BIN" ] && newer=$(find "$ROOT/Sources" "$ROOT/Package.swift" -newer "$BIN" -type f -print -quit)
    if [ ! -x "$BIN" ] || [ -n "$newer" ]; then
        log "building the exporter (release); ${newer:+stale: $newer}"
        # Bounded: another build or test run may hold .build's lock for long.
        if ! (cd "$ROOT" && timeout "${PEERS_BUILD_TIMEOUT:-1200}" swift build -c release --product progress-exporter >&2); then
            [ -x "$BIN" ] || die "build failed and there is no binary"
            log "warning: build failed; measuring the existing binary"
        fi
    fi
}

# ---------------------------------------------------------------- processes
PIDS=()
WORK=""
cleanup() {
    local status=$? pid i
    trap - EXIT INT TERM
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do
        for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    done
    PIDS=()
    if [ -n "$WORK" ] && [ "${PEERS_KEEP:-}" != 1 ]; then rm -rf "$WORK"; fi
    [ -n "$WORK" ] && [ "${PEERS_KEEP:-}" = 1 ] && log "work folder kept: $WORK"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Stops the given pids (started here), waiting at most 5 s for each.
stop() {
    local pid i keep=()
    for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "$@"; do
        for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do [[ " $* " == *" $pid "* ]] || keep+=("$pid"); done
    PIDS=("${keep[@]+"${keep[@]}"}")
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Waits until URL answers 200, at most $2 seconds (a slow answer may use the rest of that time:
# a client that gives up early leaves the server rendering).
wait_http() {
    local url=$1 limit=$2 deadline=$((SECONDS + $2)) left
    while left=$((deadline - SECONDS)) && [ "$left" -gt 0 ]; do
        curl -sf -o /dev/null --max-time "$left" "$url" && return 0
        sleep 0.1
    done
    die "$url did not answer within ${limit}s"
}

# Commands as run, for RESULTS.md ($WORK shown as $WORK).
note_command() { printf '%s\n' "${*//$WORK/\$WORK}" >>"$WORK/commands.txt"; }

record() { printf '%s\n' "$*" >>"$WORK/results.txt"; }

# utime + stime (clock ticks) of the given pids, exited threads included.
cpu_ticks() {
    local total=0 pid
    for pid in "$@"; do
        [ -r "/proc/$pid/stat" ] || continue
        total=$((total + $(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$pid/stat")))
    done
    echo "$total"
}

# The exporter's accepted-events counter for source="http".
http_events() {
    curl -s --max-time 120 "http://127.0.0.1:$P_EXPORTER/metrics" |
        awk '/^progress_exporter_events_received_total\{source="http"\}/ { print $2; found = 1 } END { if (!found) print 0 }'
}

# Sequential GETs over one keep-alive connection: "time_total size_download http_code" per line.
# GZIP=1: with Prometheus's Accept and Accept-Encoding headers, as a real scrape asks (the body is not decoded).
get_batch() {
    local url=$1 n=$2 args=() i headers=()
    [ "${GZIP:-}" = 1 ] && headers=(-H "Accept: $PROM_ACCEPT" -H 'Accept-Encoding: gzip')
    for ((i = 0; i < n; i++)); do args+=(-o /dev/null "$url"); done
    curl -s --max-time 300 "${headers[@]}" -w '%{time_total} %{size_download} %{http_code}\n' "${args[@]}"
}

# GET time and CPU per scrape of one server: 2 warm-ups, then N sequential GETs
# (at least 15, enough for 3 s of server work so CPU ticks resolve, at most 1000 and PEERS_GET_BUDGET s).
measure_get() {
    local agents=$1 name=$2 url=$3; shift 3
    local pids=("$@") warm t n before after raw=$WORK/get-$agents-$name${GZIP:+-gzip}.txt kind=get
    warm=$(get_batch "$url" 2 | tail -1)
    t=$(echo "$warm" | awk '{ print ($1 > 0.0001 ? $1 : 0.0001) }')
    n=$(awk -v t="$t" -v budget="$GET_BUDGET" 'BEGIN {
        n = int(3 / t) + 1; if (n < 15) n = 15; if (n > 1000) n = 1000
        if (n * t > budget) { n = int(budget / t); if (n < 5) n = 5 }
        print n }')
    if [ "${GZIP:-}" = 1 ]; then
        kind=getgz
        note_command "curl -s -H 'Accept: <Prometheus 2.42 Accept>' -H 'Accept-Encoding: gzip' -w '%{time_total} %{size_download} %{http_code}\\n' -o /dev/null $url (x$n, one connection; 2 warm-ups before)"
    else
        note_command "curl -s -w '%{time_total} %{size_download} %{http_code}\\n' -o /dev/null $url (x$n, one connection; 2 warm-ups before)"
    fi
    before=$(cpu_ticks "${pids[@]}")
    get_batch "$url" "$n" >"$raw"
    after=$(cpu_ticks "${pids[@]}")
    local served content_type
    served=$(curl -s --max-time 300 -o /dev/null -H "Accept: $PROM_ACCEPT" -H 'Accept-Encoding: gzip' \
        -w '%{content_type}|%{size_download}' "$url")
    content_type=$(printf '%s' "${served%%|*}" | tr -d ' ')
    record "$kind agents=$agents server=$name $(python3 "$HERE/report.py" get-stats "$raw") \
cpu_ms_per_scrape=$(awk -v a="$after" -v b="$before" -v n="$n" -v hz="$TICKS" 'BEGIN { printf "%.3f", (a - b) * 1000 / hz / n }') \
cpu_ticks=$((after - before)) prom_content_type=$content_type prom_bytes=${served##*|}"
    log "  $name: $(tail -1 "$WORK/results.txt" | cut -c1-160)"
}

# Plain GETs and GETs as Prometheus asks (OpenMetrics, gzip) of one server, interleaved: 5 rounds of
# a plain batch then a gzip batch, so that whatever changes in the server during the measurement
# (alert evaluation growing, other load) weighs on both alike. Records a "get" and a "getgz" line.
measure_get_pair() {
    local agents=$1 name=$2 url=$3; shift 3
    local pids=("$@") t n m round mode raw before after served content_type
    local -A ticks=([get]=0 [getgz]=0)
    t=$( (get_batch "$url" 2; GZIP=1 get_batch "$url" 2) | awk '{ if ($1 > m) m = $1 } END { print (m > 0.0001 ? m : 0.0001) }')
    n=$(awk -v t="$t" -v budget="$GET_BUDGET" 'BEGIN {
        n = int(3 / t) + 1; if (n < 15) n = 15; if (n > 1000) n = 1000
        if (n * t > budget) { n = int(budget / t); if (n < 5) n = 5 }
        print n }')
    m=$(((n + 4) / 5))
    [ "$m" -lt 3 ] && m=3
    note_command "curl -s -w '%{time_total} %{size_download} %{http_code}\\n' -o /dev/null $url (x$m), then the same with -H 'Accept: <Prometheus 2.42 Accept>' -H 'Accept-Encoding: gzip' (x$m); 5 rounds, one connection per batch; 2 warm-ups of each before"
    : >"$WORK/get-$agents-$name.txt"
    : >"$WORK/get-$agents-$name-gzip.txt"
    for ((round = 0; round < 5; round++)); do
        for mode in get getgz; do
            raw=$WORK/get-$agents-$name.txt
            [ "$mode" = getgz ] && raw=$WORK/get-$agents-$name-gzip.txt
            before=$(cpu_ticks "${pids[@]}")
            if [ "$mode" = getgz ]; then GZIP=1 get_batch "$url" "$m" >>"$raw"; else get_batch "$url" "$m" >>"$raw"; fi
            after=$(cpu_ticks "${pids[@]}")
            ticks[$mode]=$((ticks[$mode] + after - before))
        done
    done
    served=$(curl -s --max-time 300 -o /dev/null -H "Accept: $PROM_ACCEPT" -H 'Accept-Encoding: gzip' \
        -w '%{content_type}|%{size_download}' "$url")
    content_type=$(printf '%s' "${served%%|*}" | tr -d ' ')
    for mode in get getgz; do
        raw=$WORK/get-$agents-$name.txt
        [ "$mode" = getgz ] && raw=$WORK/get-$agents-$name-gzip.txt
        record "$mode agents=$agents server=$name $(python3 "$HERE/report.py" get-stats "$raw") \
cpu_ms_per_scrape=$(awk -v a="${ticks[$mode]}" -v n="$((5 * m))" -v hz="$TICKS" 'BEGIN { printf "%.3f", a * 1000 / hz / n }') \
cpu_ticks=${ticks[$mode]} prom_content_type=$content_type prom_bytes=${served##*|}"
        log "  $name: $(tail -1 "$WORK/results.txt" | cut -c1-160)"
    done
}

series_count() { grep -vc '^#' "$1" || true; }

# Keeps the exporter's agents fresh (one progress event each, now), so that no built-in alert
# fires and adds series the peers do not have; run before each measurement of the exporter.
refresh_agents() {
    python3 "$HERE/gen_events.py" refresh --agents "$1" --jobs "$JOBS" --url "http://127.0.0.1:$P_EXPORTER/events" >/dev/null
}

# ---------------------------------------------------------------- servers
start_exporter() {
    local agents=$1
    note_command "$BIN --web.listen-address 127.0.0.1:$P_EXPORTER --agents.max-series $agents"
    "$BIN" --web.listen-address "127.0.0.1:$P_EXPORTER" --agents.max-series "$agents" >"$WORK/exporter.log" 2>&1 &
    EXPORTER_PID=$!
    PIDS+=("$EXPORTER_PID")
    wait_http "http://127.0.0.1:$P_EXPORTER/-/healthy" 30
}

start_pushgateway() {
    note_command "prometheus-pushgateway --web.listen-address=127.0.0.1:$P_PUSHGATEWAY --persistence.file= --log.level=warn"
    prometheus-pushgateway --web.listen-address="127.0.0.1:$P_PUSHGATEWAY" --persistence.file= --log.level=warn \
        >"$WORK/pushgateway.log" 2>&1 &
    PUSHGATEWAY_PID=$!
    PIDS+=("$PUSHGATEWAY_PID")
    wait_http "http://127.0.0.1:$P_PUSHGATEWAY/-/ready" 30
}

start_python() {
    local body=$1 i
    note_command "python3 Benchmarks/peers/python_peer.py \$WORK/body/metrics.prom $P_PYTHON"
    python3 "$HERE/python_peer.py" "$body" "$P_PYTHON" >"$WORK/python.log" 2>&1 &
    PYTHON_PID=$!
    PIDS+=("$PYTHON_PID")
    for ((i = 0; i < 6000; i++)); do
        grep -q '^ready' "$WORK/python.log" && break
        kill -0 "$PYTHON_PID" 2>/dev/null || die "python peer exited: $(tail -3 "$WORK/python.log")"
        sleep 0.1
    done
    grep -q '^ready' "$WORK/python.log" || die "python peer not ready in 600 s"
    wait_http "http://127.0.0.1:$P_PYTHON/metrics" 300
}

start_nginx() {
    local dir=$WORK/nginx i
    mkdir -p "$dir/tmp"
    sed -e "s#@DIR@#$dir#g" -e "s#@ROOT@#$WORK/body#g" -e "s#@PORT@#$P_NGINX#g" "$HERE/nginx.conf.in" >"$dir/nginx.conf"
    note_command "nginx -p \$WORK/nginx -e \$WORK/nginx/error.log -c \$WORK/nginx/nginx.conf   # Benchmarks/peers/nginx.conf.in"
    nginx -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf" >"$dir/stdout.log" 2>&1 &
    NGINX_PID=$!
    PIDS+=("$NGINX_PID")
    wait_http "http://127.0.0.1:$P_NGINX/metrics" 30
    NGINX_PIDS=("$NGINX_PID")
    for i in $(pgrep -P "$NGINX_PID"); do NGINX_PIDS+=("$i"); done
}

# ---------------------------------------------------------------- Prometheus
prom_job() { # name port interval
    cat <<EOF
  - job_name: $1
    honor_labels: true   # for the pushgateway's pushed job/instance; the exporter needs none
    scrape_interval: $3
    scrape_timeout: $3
    static_configs:
      - targets: ["127.0.0.1:$2"]
EOF
}

# Runs a fresh Prometheus on the config in $4 (with $5 targets) until every target was scraped, then $3
# seconds more, and records each target's numbers since the start under mode $2.
run_prometheus() {
    local agents=$1 mode=$2 seconds=$3 config=$4 targets=$5 dir
    dir=$(mktemp -d "$WORK/prom.XXXX")
    note_command "prometheus --config.file=\$WORK/$(basename "$dir")/prometheus.yml --storage.tsdb.path=\$WORK/$(basename "$dir")/data --web.listen-address=127.0.0.1:$P_PROM   # $mode, ${seconds}s"
    cp "$config" "$dir/prometheus.yml"
    refresh_agents "$agents"
    prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/data" \
        --web.listen-address="127.0.0.1:$P_PROM" --log.level=warn >"$dir/prometheus.log" 2>&1 &
    local pid=$!
    PIDS+=("$pid")
    wait_http "http://127.0.0.1:$P_PROM/-/ready" 60
    local started i scraped=0 window q
    started=$(date +%s)
    # Prometheus applies new targets on a 5 s tick and spreads first scrapes over the interval.
    for ((i = 0; i < 120; i++)); do
        scraped=$(curl -s --max-time 5 --data-urlencode 'query=count(up)' "http://127.0.0.1:$P_PROM/api/v1/query" |
            sed -n 's/.*"value":\[[0-9.]*,"\([0-9]*\)".*/\1/p')
        [ "${scraped:-0}" -ge "$targets" ] && break
        sleep 0.5
    done
    [ "${scraped:-0}" -ge "$targets" ] || log "warning: only ${scraped:-0} of $targets targets scraped after 60 s"
    sleep "$seconds"
    window=$(($(date +%s) - started + 1))
    for q in "avg_over_time(scrape_duration_seconds[${window}s])" \
        "quantile_over_time(0.5, scrape_duration_seconds[${window}s])" \
        "max_over_time(scrape_duration_seconds[${window}s])" \
        "count_over_time(scrape_duration_seconds[${window}s])" \
        "avg_over_time(up[${window}s])" \
        "max_over_time(scrape_samples_scraped[${window}s])"; do
        curl -s --max-time 30 --data-urlencode "query=$q" "http://127.0.0.1:$P_PROM/api/v1/query" >>"$dir/answers.jsonl"
        echo >>"$dir/answers.jsonl"
    done
    python3 "$HERE/report.py" prom-stats "$dir/answers.jsonl" | while read -r line; do
        record "prom agents=$agents mode=$mode $line"
    done
    stop "$pid"
    rm -rf "$dir/data"
}

measure_prometheus() {
    local agents=$1 config=$WORK/prom-all.yml name port interval
    declare -A ports=([exporter]=$P_EXPORTER [pushgateway]=$P_PUSHGATEWAY [python]=$P_PYTHON [nginx]=$P_NGINX)
    # scrape_timeout may not exceed scrape_interval, so interval = timeout: 2 s (python 10 s) up to
    # 2,000 agents; 5 s (python 20 s) above, where one Prometheus on 2 cores cannot take 4 x 180k series every 2 s.
    local fast=${PEERS_PROM_INTERVAL:-2} slow=10
    if [ -z "${PEERS_PROM_INTERVAL:-}" ] && [ "$agents" -gt 2000 ]; then fast=5 slow=20; fi
    declare -A intervals=([exporter]=${fast}s [pushgateway]=${fast}s [python]=${slow}s [nginx]=${fast}s)
    record "prom_intervals agents=$agents fast=$fast slow=$slow"
    printf 'global:\n  evaluation_interval: 1m\nscrape_configs:\n' >"$config"
    for name in exporter pushgateway python nginx; do prom_job "$name" "${ports[$name]}" "${intervals[$name]}" >>"$config"; done
    log "prometheus: all four targets together, ${PROM_SECONDS}s after their first scrapes"
    run_prometheus "$agents" together "$PROM_SECONDS" "$config" 4
    if [ "$PROM_EACH_SECONDS" -gt 0 ]; then
        for name in exporter pushgateway python nginx; do
            log "prometheus: $name alone, ${PROM_EACH_SECONDS}s after its first scrape"
            printf 'global:\n  evaluation_interval: 1m\nscrape_configs:\n' >"$WORK/prom-$name.yml"
            prom_job "$name" "${ports[$name]}" "${intervals[$name]}" >>"$WORK/prom-$name.yml"
            run_prometheus "$agents" alone "$PROM_EACH_SECONDS" "$WORK/prom-$name.yml" 1
        done
    fi
}

# ---------------------------------------------------------------- one agent count
bench_agents() {
    local agents=$1 body=$WORK/body accepted
    log "== $agents agents"
    mkdir -p "$body"
    start_exporter "$agents"
    note_command "python3 Benchmarks/peers/gen_events.py load --agents $agents --url http://127.0.0.1:$P_EXPORTER/events"
    accepted=$(python3 "$HERE/gen_events.py" load --agents "$agents" --jobs "$JOBS" --url "http://127.0.0.1:$P_EXPORTER/events")
    log "loaded $accepted events"

    # The bodies every peer serves: text, and OpenMetrics for nginx to give Prometheus what the exporter gives it.
    note_command "curl -s http://127.0.0.1:$P_EXPORTER/metrics > \$WORK/body/metrics.prom; curl -s -H 'Accept: <Prometheus 2.42 Accept>' ... > \$WORK/body/metrics.om; the same with -H 'Accept-Encoding: gzip' > \$WORK/body/metrics.om.gz"
    curl -s --max-time 300 "http://127.0.0.1:$P_EXPORTER/metrics" >"$body/metrics.prom"
    curl -s --max-time 300 -H "Accept: $PROM_ACCEPT" "http://127.0.0.1:$P_EXPORTER/metrics" >"$body/metrics.om"
    # The exporter gzips for Prometheus: nginx sends its compressed bytes as they are (gzip_static).
    curl -s --max-time 300 -H "Accept: $PROM_ACCEPT" -H 'Accept-Encoding: gzip' -D "$WORK/om-gzip.headers" \
        "http://127.0.0.1:$P_EXPORTER/metrics" >"$body/metrics.om.gz"
    grep -qi '^content-encoding: *gzip' "$WORK/om-gzip.headers" || rm -f "$body/metrics.om.gz"
    chmod 755 "$WORK" "$body" && chmod 644 "$body"/*

    local pushed=0
    if serves pushgateway; then
        start_pushgateway
        note_command "python3 Benchmarks/peers/pushgateway_load.py \$WORK/body/metrics.prom http://127.0.0.1:$P_PUSHGATEWAY"
        pushed=$(python3 "$HERE/pushgateway_load.py" "$body/metrics.prom" "http://127.0.0.1:$P_PUSHGATEWAY")
        log "pushgateway holds $pushed pushed series"
    fi
    serves python && start_python "$body/metrics.prom"
    serves nginx && start_nginx

    local name url
    for name in exporter pushgateway python nginx; do
        : >"$WORK/served-$name.prom"
        serves "$name" && curl -s --max-time 300 "$(server_url "$name")" >"$WORK/served-$name.prom"
    done
    record "series agents=$agents events_loaded=$accepted exporter=$(series_count "$WORK/served-exporter.prom") \
pushgateway=$(series_count "$WORK/served-pushgateway.prom") pushgateway_pushed=$pushed \
python=$(series_count "$WORK/served-python.prom") nginx=$(series_count "$WORK/served-nginx.prom") \
python_rebuilt=$(sed -n 's/^ready //p' "$WORK/python.log")"

    log "GET /metrics, one server at a time"
    note_command "python3 Benchmarks/peers/gen_events.py refresh --agents $agents --url http://127.0.0.1:$P_EXPORTER/events   # before each measurement of the exporter"
    refresh_agents "$agents"
    # The exporter and nginx also as a real scrape asks: OpenMetrics, gzip (nginx sends the exporter's own gzip bytes).
    measure_get_pair "$agents" exporter "$(server_url exporter)" "$EXPORTER_PID"
    serves pushgateway && measure_get "$agents" pushgateway "$(server_url pushgateway)" "$PUSHGATEWAY_PID"
    serves python && measure_get "$agents" python "$(server_url python)" "$PYTHON_PID"
    serves nginx && measure_get_pair "$agents" nginx "$(server_url nginx)" "${NGINX_PIDS[@]}"

    if [ "$agents" -le "$PROM_MAX_AGENTS" ] && serves pushgateway && serves python && serves nginx; then
        measure_prometheus "$agents"
    else
        log "prometheus skipped (above $PROM_MAX_AGENTS agents, PEERS_PROM_MAX_AGENTS, or not all servers in PEERS_SERVERS)"
    fi
    stop ${PYTHON_PID:-} ${PUSHGATEWAY_PID:-} ${NGINX_PID:-}
    PYTHON_PID="" PUSHGATEWAY_PID="" NGINX_PID=""

    if [ "${PEERS_GET_ONLY:-}" != 1 ]; then
        measure_ingest "$agents"
        log "latency: POST one event, GET /metrics until it shows (50 rounds)"
        note_command "python3 Benchmarks/peers/latency.py http://127.0.0.1:$P_EXPORTER $agents 50"
        refresh_agents "$agents"
        record "latency agents=$agents $(python3 "$HERE/latency.py" "http://127.0.0.1:$P_EXPORTER" "$agents" 50 "$JOBS")"
    fi
    curl -s --max-time 300 "$(server_url exporter)" >"$WORK/served-exporter-end.prom"
    record "series_end agents=$agents exporter=$(series_count "$WORK/served-exporter-end.prom") \
alert_series=$(grep -c '^progress_alert_active' "$WORK/served-exporter-end.prom" || true)"
    stop "$EXPORTER_PID"
    rm -rf "$body"
}

# Whether PEERS_SERVERS includes server $1 (the exporter always runs).
serves() { [ "$1" = exporter ] || [[ " ${PEERS_SERVERS:-exporter pushgateway python nginx} " == *" $1 "* ]]; }

server_url() {
    case $1 in
    exporter) echo "http://127.0.0.1:$P_EXPORTER/metrics" ;;
    pushgateway) echo "http://127.0.0.1:$P_PUSHGATEWAY/metrics" ;;
    python) echo "http://127.0.0.1:$P_PYTHON/metrics" ;;
    nginx) echo "http://127.0.0.1:$P_NGINX/metrics" ;;
    esac
}

measure_ingest() {
    local agents=$1 file=$WORK/ingest.ndjson connections before after ticks_before ticks_after start end out
    note_command "python3 Benchmarks/peers/gen_events.py body --agents $agents --events 10000 --out \$WORK/ingest.ndjson"
    python3 "$HERE/gen_events.py" body --agents "$agents" --jobs "$JOBS" --events 10000 --out "$file"
    for connections in 1 4; do
        refresh_agents "$agents"
        log "ingest: wrk, $connections connection(s), ${INGEST_SECONDS}s"
        note_command "BODY_FILE=\$WORK/ingest.ndjson wrk -t1 -c$connections -d${INGEST_SECONDS}s -s Benchmarks/peers/post_body.lua http://127.0.0.1:$P_EXPORTER/events"
        before=$(http_events)
        ticks_before=$(cpu_ticks "$EXPORTER_PID")
        start=$(date +%s.%N)
        out=$(BODY_FILE=$file timeout $((INGEST_SECONDS + 30)) wrk -t1 -c"$connections" -d"${INGEST_SECONDS}s" --timeout 20s \
            -s "$HERE/post_body.lua" "http://127.0.0.1:$P_EXPORTER/events")
        end=$(date +%s.%N)
        ticks_after=$(cpu_ticks "$EXPORTER_PID")
        after=$(http_events)
        record "ingest agents=$agents connections=$connections events_per_post=10000 body_bytes=$(stat -c %s "$file") \
accepted=$(awk -v a="$after" -v b="$before" 'BEGIN { printf "%d", a - b }') wall_seconds=$(awk -v a="$end" -v b="$start" 'BEGIN { printf "%.3f", a - b }') \
cpu_seconds=$(awk -v a="$ticks_after" -v b="$ticks_before" -v hz="$TICKS" 'BEGIN { printf "%.2f", (a - b) / hz }') \
$(echo "$out" | grep -o 'wrk_[a-z0-9_]*=[0-9]*' | tr '\n' ' ')"
        log "  $(tail -1 "$WORK/results.txt")"
    done
    rm -f "$file"
}

# ---------------------------------------------------------------- main
main() {
    install_missing
    build_if_needed
    for port in "$P_EXPORTER" "$P_PUSHGATEWAY" "$P_PYTHON" "$P_NGINX" "$P_PROM"; do
        port_free "$port" || die "port $port on 127.0.0.1 is in use (set PEERS_PORT_BASE)"
    done
    WORK=$(mktemp -d /tmp/peers-bench.XXXXXX)
    : >"$WORK/results.txt"
    : >"$WORK/commands.txt"
    local started
    started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
    {
        echo "date=$started"
        echo "nproc=$(nproc)"
        echo "cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
        echo "memory_gib=$(awk '/^MemTotal/ { printf "%.1f", $2 / 1048576 }' /proc/meminfo)"
        echo "load_start=$(cut -d' ' -f1-3 /proc/loadavg)"
        echo "revision=$(git -C "$ROOT" rev-parse --short HEAD)"
        echo "dirty=$(git -C "$ROOT" status --porcelain -- Sources Package.swift | wc -l)"
        echo "binary_built=$(date -u -r "$BIN" +%Y-%m-%dT%H:%M:%SZ)"
        echo "binary=${PEERS_BIN:+$BIN}"
        echo "agents=${AGENT_COUNTS[*]}"
        echo "versions=exporter $("$BIN" --version 2>/dev/null | head -1); pushgateway $(dpkg-query -W -f='${Version}' prometheus-pushgateway); prometheus $(dpkg-query -W -f='${Version}' prometheus); nginx $(nginx -v 2>&1 | sed 's#.*/##'); prometheus_client $(python3 -c 'from importlib.metadata import version; print(version("prometheus_client"))'); python $(python3 -c 'import platform; print(platform.python_version())'); wrk $(dpkg-query -W -f='${Version}' wrk); curl $(curl --version | head -1 | cut -d' ' -f2)"
    } >"$WORK/meta.txt"
    log "work folder: $WORK; load $(cut -d' ' -f1-3 /proc/loadavg)"
    local agents
    for agents in "${AGENT_COUNTS[@]}"; do
        [[ $agents =~ ^[0-9]+$ ]] || die "not an agent count: $agents"
        bench_agents "$agents"
    done
    echo "load_end=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$WORK/meta.txt"
    echo "finished=$(date -u +%Y-%m-%dT%H:%M:%SZ)" >>"$WORK/meta.txt"
    echo "command=Benchmarks/peers/run.sh ${AGENT_COUNTS[*]}" >>"$WORK/meta.txt"
    python3 "$HERE/report.py" write "$WORK/meta.txt" "$WORK/results.txt" "$WORK/commands.txt" >"$OUT.tmp"
    mv "$OUT.tmp" "$OUT"
    cat "$OUT"
    log "wrote $OUT"
}

main
