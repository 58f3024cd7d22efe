#!/usr/bin/env bash
# NATS JetStream ingest beside HTTP ingest, one exporter (one shard), release build, 127.0.0.1.
#
#   Benchmarks/nats/run.sh [MESSAGES] [EVENTS_PER_MESSAGE]     (defaults 2000 and 500: a million events)
#
# NATS: the stream is filled first (progress-bench nats-publish), then an exporter is started on it
# and timed until it has applied every event (`progress_exporter_events_received_total{source="nats"}`),
# with and without --storage.journal. HTTP: wrk POSTs one body of EVENTS_PER_MESSAGE events over and
# over on 1 and 4 connections for 10 s (as Benchmarks/peers does), with and without the journal.
# events/s = events applied / seconds. Every process it starts is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="/opt/swift/usr/bin:$PATH"
MESSAGES=${1:-2000}
PER_MESSAGE=${2:-500}
EVENTS=$((MESSAGES * PER_MESSAGE))
command -v wrk >/dev/null || { echo "installing wrk"; ${SUDO:-$([ "$(id -u)" -ne 0 ] && echo sudo)} apt-get install -y -qq wrk >/dev/null; }
[ -n "${NATS_BENCH_NO_BUILD:-}" ] || { swift build -c release --product progress-exporter >/dev/null && swift build -c release --product progress-bench >/dev/null; }
BIN=.build/release/progress-exporter
BENCH=.build/release/progress-bench
WORK=$(mktemp -d /tmp/nats-bench.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
received() { curl -s "http://127.0.0.1:$1/metrics" | awk -v src="$2" '$1 == "progress_exporter_events_received_total{source=\""src"\"}" {print $2}'; }
now() { date +%s.%N; }

NATS_PORT=$(free_port)
printf 'listen: 127.0.0.1:%s\njetstream { store_dir: "%s/js" }\n' "$NATS_PORT" "$WORK" > "$WORK/nats.conf"
nats-server -c "$WORK/nats.conf" > "$WORK/nats.log" 2>&1 & pids+=($!)
for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$NATS_PORT) 2>/dev/null && break; sleep 0.05; done
"$BENCH" nats-publish "nats://127.0.0.1:$NATS_PORT" BENCH "$MESSAGES" "$PER_MESSAGE"

results=()
drain() {  # $1: name, $2..: extra flags
    local name=$1; shift
    local port; port=$(free_port)
    rm -rf "$WORK/data"
    local start; start=$(now)
    "$BIN" serve --web.listen-address "127.0.0.1:$port" --events.nats-url "nats://127.0.0.1:$NATS_PORT" --events.nats-stream BENCH \
        --events.nats-consumer "bench-$name" "$@" 2> "$WORK/exporter-$name.log" & local pid=$!; pids+=($pid)
    local got=0
    for _ in $(seq 1200); do
        got=$(received "$port" nats || echo 0); got=${got%.*}
        [ "${got:-0}" -ge "$EVENTS" ] && break
        sleep 0.1
    done
    local elapsed; elapsed=$(echo "$(now) - $start" | bc)
    local cpu; cpu=$(awk '{print ($14 + $15) / 100}' "/proc/$pid/stat")
    kill "$pid"; wait "$pid" 2>/dev/null || true
    results+=("| NATS, drain a backlog | $name | $got | $(printf '%.2f' "$elapsed") s (from start) | $(echo "$got / $elapsed" | bc) | $cpu |")
}
drain "no-storage"
drain "journal" --storage.path "$WORK/data" --storage.journal

body="$WORK/body.ndjson"
python3 - "$PER_MESSAGE" > "$body" <<'PY'
import sys, time
n = int(sys.argv[1]); t = time.time() - 60
for i in range(n):
    a = i % 1000; j = a % 10
    kinds = [
        '{"type":"agent_progress","job":"job-%d","agent":"agent-%d","step":"transform","steps_completed":2,"total_steps":4,"ts":%f}',
        '{"type":"agent_heartbeat","job":"job-%d","agent":"agent-%d","ts":%f}',
        '{"type":"item_completed","job":"job-%d","agent":"agent-%d","item":"item-%d","duration_seconds":1.5,"ts":%f}',
        '{"type":"agent_started","job":"job-%d","agent":"agent-%d","item":"item-%d","total_steps":4,"ts":%f}',
    ]
    k = kinds[i % 4]
    print(k % ((j, a, i, t + i * 1e-4) if "item-%d" in k else (j, a, t + i * 1e-4)))
PY
http() {  # $1: name, $2: connections, $3..: extra flags
    local name=$1 connections=$2; shift 2
    local port; port=$(free_port)
    rm -rf "$WORK/data"
    "$BIN" serve --web.listen-address "127.0.0.1:$port" "$@" 2> "$WORK/exporter-http.log" & local pid=$!; pids+=($pid)
    for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/-/ready" >/dev/null && break; sleep 0.05; done
    local before; before=$(received "$port" http); before=${before:-0}
    local start; start=$(now)
    BODY_FILE=$body wrk -t1 -c"$connections" -d10s --timeout 20s -s Benchmarks/peers/post_body.lua "http://127.0.0.1:$port/events" > "$WORK/wrk.txt"
    local elapsed; elapsed=$(echo "$(now) - $start" | bc)
    local after; after=$(received "$port" http); after=${after%.*}
    local cpu; cpu=$(awk '{print ($14 + $15) / 100}' "/proc/$pid/stat")
    kill "$pid"; wait "$pid" 2>/dev/null || true
    local got=$(( after - ${before%.*} ))
    results+=("| HTTP, wrk -c$connections 10 s | $name | $got | $(printf '%.2f' "$elapsed") s | $(echo "$got / $elapsed" | bc) | $cpu |")
}
http "no-storage" 1
http "no-storage" 4
http "journal" 4 --storage.path "$WORK/data" --storage.journal

echo
echo "## NATS JetStream ingest beside HTTP ingest ($MESSAGES messages of $PER_MESSAGE events; release build; $(nproc) cores; load $(cut -d' ' -f1 /proc/loadavg))"
echo
echo "| path | storage | events applied | time | events/s | exporter CPU s |"
echo "|---|---|---|---|---|---|"
printf '%s\n' "${results[@]}"
