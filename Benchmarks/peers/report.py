#!/usr/bin/env python3
"""Number crunching for run.sh.

  report.py get-stats FILE                  curl timings ("time size code" lines) -> key=value
  report.py prom-stats ANSWERS.jsonl        Prometheus query answers -> one key=value line per target
  report.py write META RESULTS COMMANDS     the markdown report on stdout
"""
import json
import math
import statistics
import sys

SERVERS = ["exporter", "pushgateway", "python", "nginx"]
PEER_NAMES = {
    "exporter": "progress-exporter",
    "pushgateway": "pushgateway",
    "python": "python prometheus_client",
    "nginx": "nginx (static file)",
}
PROM_QUERIES = ["avg", "median", "max", "scrapes", "up", "samples"]


def percentile(values, p):
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def get_stats(path):
    rows = [line.split() for line in open(path) if line.strip()]
    times = [float(r[0]) * 1000 for r in rows]
    sizes = [int(r[1]) for r in rows]
    bad = sum(1 for r in rows if r[2] != "200")
    print(f"n={len(times)} median_ms={statistics.median(times):.3f} p90_ms={percentile(times, 90):.3f} "
          f"min_ms={min(times):.3f} bytes={max(set(sizes), key=sizes.count)} non200={bad}")


def prom_stats(path):
    answers = [json.loads(line) for line in open(path) if line.strip()]
    by_job = {}
    for name, answer in zip(PROM_QUERIES, answers):
        for result in answer.get("data", {}).get("result", []):
            by_job.setdefault(result["metric"].get("job", "?"), {})[name] = float(result["value"][1])
    for job, values in sorted(by_job.items()):
        print(f"server={job} avg_ms={values.get('avg', float('nan')) * 1000:.3f} "
              f"median_ms={values.get('median', float('nan')) * 1000:.3f} max_ms={values.get('max', float('nan')) * 1000:.3f} "
              f"scrapes={values.get('scrapes', 0):.0f} up={values.get('up', float('nan')):.2f} samples={values.get('samples', 0):.0f}")


def parse_records(path):
    records = []
    for line in open(path):
        fields = line.split()
        if not fields:
            continue
        record = {"kind": fields[0]}
        for field in fields[1:]:
            key, _, value = field.partition("=")
            record[key] = value
        records.append(record)
    return records


def num(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def ms(value):
    value = num(value)
    if math.isnan(value):
        return "–"
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    if value >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def ratio(a, b):
    a, b = num(a), num(b)
    if math.isnan(a) or math.isnan(b) or b == 0:
        return "–"
    r = a / b
    return f"{r:,.0f}x" if r >= 100 else f"{r:.1f}x" if r >= 10 else f"{r:.2f}x"


def write(meta_path, results_path, commands_path):
    meta = {}
    for line in open(meta_path):
        key, _, value = line.rstrip("\n").partition("=")
        meta[key] = value
    records = parse_records(results_path)
    agents_list = []
    for r in records:
        if r.get("agents") and int(r["agents"]) not in agents_list:
            agents_list.append(int(r["agents"]))

    def find(kind, agents, **match):
        for r in records:
            if r["kind"] == kind and int(r.get("agents", -1)) == agents and all(r.get(k) == v for k, v in match.items()):
                return r
        return {}

    out = []
    w = out.append
    w("# progress-exporter beside its peers: results")
    w("")
    w(f"Produced by `{meta.get('command', 'Benchmarks/peers/run.sh')}` (see [README.md](README.md) for what each "
      "number means and how the peers were set up).")
    w("")
    w("| | |")
    w("|---|---|")
    w(f"| date (UTC) | {meta.get('date')} to {meta.get('finished')} |")
    w(f"| machine | {meta.get('nproc')} cores ({meta.get('cpu')}), {meta.get('memory_gib')} GiB; shared with other builds |")
    w(f"| load average | {meta.get('load_start')} at start, {meta.get('load_end')} at end |")
    dirty = meta.get("dirty", "0")
    w(f"| exporter | git {meta.get('revision')}{' plus ' + dirty + ' uncommitted file(s) under Sources/' if dirty not in ('', '0') else ''}, "
      f"release build of {meta.get('binary_built')}{' (' + meta['binary'] + ', not built from the checkout)' if meta.get('binary') else ''} |")
    w(f"| versions | {meta.get('versions')} |")
    w("")

    # Series.
    w("## Series served")
    w("")
    w("Every peer serves the exporter's own /metrics body, taken after loading it with the events of that many agents "
      "(10 jobs, every agent's series kept). `samples` lines, HELP/TYPE not counted.")
    w("")
    w("| agents | events loaded | exporter | pushgateway (pushed + own) | python prometheus_client | nginx | text body bytes | exporter at the end (alert series) |")
    w("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for agents in agents_list:
        s = find("series", agents)
        g = find("get", agents, server="exporter")
        if not s:
            continue
        count = lambda key: int(num(s.get(key))) if not math.isnan(num(s.get(key))) else 0
        own = count("pushgateway") - count("pushgateway_pushed")
        end = find("series_end", agents)
        at_end = f"{int(num(end.get('exporter'))):,} ({end.get('alert_series')})" if end else "–"
        w(f"| {agents:,} | {count('events_loaded'):,} | {count('exporter'):,} | "
          f"{count('pushgateway_pushed'):,} + {own} | {count('python'):,} | {count('nginx'):,} | "
          f"{int(num(g.get('bytes'))):,} | {at_end} |")
    w("")

    # GET.
    w("## GET /metrics with a plain HTTP client")
    w("")
    w("Sequential GETs with curl over one keep-alive connection (`%{time_total}`), text format, no compression, one "
      "server at a time, after 2 warm-ups. CPU per scrape: the server's utime+stime from /proc/PID/stat "
      "(all nginx processes) across the same GETs, divided by their count.")
    w("")
    w("| agents | server | GETs | median ms | p90 ms | bytes | CPU ms/scrape |")
    w("|---:|---|---:|---:|---:|---:|---:|")
    for agents in agents_list:
        for server in SERVERS:
            g = find("get", agents, server=server)
            if g:
                w(f"| {agents:,} | {PEER_NAMES[server]} | {g.get('n')} | {ms(g.get('median_ms'))} | {ms(g.get('p90_ms'))} | "
                  f"{int(num(g.get('bytes'))):,} | {ms(g.get('cpu_ms_per_scrape'))} |")
    w("")
    w("Ratios (median GET time; CPU per scrape):")
    w("")
    w("| agents | pushgateway / exporter | python / exporter | exporter / nginx | CPU pushgateway / exporter | CPU python / exporter | CPU exporter / nginx |")
    w("|---:|---:|---:|---:|---:|---:|---:|")
    for agents in agents_list:
        e, p, y, n = (find("get", agents, server=s) for s in SERVERS)
        if not e:
            continue
        w(f"| {agents:,} | {ratio(p.get('median_ms'), e.get('median_ms'))} | {ratio(y.get('median_ms'), e.get('median_ms'))} | "
          f"{ratio(e.get('median_ms'), n.get('median_ms'))} | {ratio(p.get('cpu_ms_per_scrape'), e.get('cpu_ms_per_scrape'))} | "
          f"{ratio(y.get('cpu_ms_per_scrape'), e.get('cpu_ms_per_scrape'))} | {ratio(e.get('cpu_ms_per_scrape'), n.get('cpu_ms_per_scrape'))} |")
    w("")
    w("What each server gives Prometheus (its Accept header, `Accept-Encoding: gzip`):")
    w("")
    w("| agents | server | content type | bytes on the wire |")
    w("|---:|---|---|---:|")
    for agents in agents_list:
        for server in SERVERS:
            g = find("get", agents, server=server)
            if g:
                w(f"| {agents:,} | {PEER_NAMES[server]} | `{g.get('prom_content_type', '').replace('|', '/')}` | "
                  f"{int(num(g.get('prom_bytes'))):,} |")
    w("")

    # GET as Prometheus asks.
    if any(r["kind"] == "getgz" for r in records):
        w("## GET /metrics as Prometheus asks: OpenMetrics, gzip")
        w("")
        w("The same sequential GETs with Prometheus 2.42's `Accept` header and `Accept-Encoding: gzip` (curl does not "
          "decode the body), right after the plain ones, exporter and nginx; nginx sends the exporter's own gzip-encoded "
          "answer taken at load time (`gzip_static`), so it compresses nothing per scrape.")
        w("")
        w("| agents | server | GETs | median ms | p90 ms | bytes | CPU ms/scrape | gzip / plain (median) | gzip CPU / plain CPU |")
        w("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
        for agents in agents_list:
            for server in SERVERS:
                g, plain = find("getgz", agents, server=server), find("get", agents, server=server)
                if g:
                    w(f"| {agents:,} | {PEER_NAMES[server]} | {g.get('n')} | {ms(g.get('median_ms'))} | {ms(g.get('p90_ms'))} | "
                      f"{int(num(g.get('bytes'))):,} | {ms(g.get('cpu_ms_per_scrape'))} | "
                      f"{ratio(g.get('median_ms'), plain.get('median_ms'))} | "
                      f"{ratio(g.get('cpu_ms_per_scrape'), plain.get('cpu_ms_per_scrape'))} |")
        w("")

    # Prometheus.
    prom = [r for r in records if r["kind"] == "prom"]
    w("## Prometheus scrape_duration_seconds")
    w("")
    if not prom:
        w("Not measured in this run.")
    else:
        w("Prometheus 2.42's own `scrape_duration_seconds` per target (request, body read, parse and append to its "
          "TSDB), read with `avg_over_time`, `quantile_over_time(0.5, ...)` and `max_over_time` over the run. "
          "`together`: one Prometheus scraping all four targets; `alone`: a fresh Prometheus per target with the other "
          "servers idle. Interval = timeout (Prometheus refuses a timeout above the interval), python's longer. "
          "The first scrape of a target creates its series, so `avg` carries that cost and `median` mostly does not.")
        w("")
        w("| agents | mode | server | interval | scrapes | up | samples | avg ms | median ms | max ms |")
        w("|---:|---|---|---:|---:|---:|---:|---:|---:|---:|")
        for agents in agents_list:
            intervals = find("prom_intervals", agents)
            for mode in ("together", "alone"):
                for server in SERVERS:
                    r = find("prom", agents, mode=mode, server=server)
                    if r:
                        interval = intervals.get("slow" if server == "python" else "fast", "?")
                        w(f"| {agents:,} | {mode} | {PEER_NAMES[server]} | {interval} s | {r.get('scrapes')} | {r.get('up')} | "
                          f"{int(num(r.get('samples'))):,} | {ms(r.get('avg_ms'))} | {ms(r.get('median_ms'))} | {ms(r.get('max_ms'))} |")
        w("")
        w("Ratios (avg; median in brackets):")
        w("")
        w("| agents | mode | pushgateway / exporter | python / exporter | exporter / nginx |")
        w("|---:|---|---:|---:|---:|")
        for agents in agents_list:
            for mode in ("together", "alone"):
                e, p, y, n = (find("prom", agents, mode=mode, server=s) for s in SERVERS)
                if not e:
                    continue
                w(f"| {agents:,} | {mode} | {ratio(p.get('avg_ms'), e.get('avg_ms'))} ({ratio(p.get('median_ms'), e.get('median_ms'))}) | "
                  f"{ratio(y.get('avg_ms'), e.get('avg_ms'))} ({ratio(y.get('median_ms'), e.get('median_ms'))}) | "
                  f"{ratio(e.get('avg_ms'), n.get('avg_ms'))} ({ratio(e.get('median_ms'), n.get('median_ms'))}) |")
    w("")

    # Ingest.
    w("## HTTP ingest: POST /events")
    w("")
    w("wrk (one thread, another process) POSTs the same pre-generated 10,000-event NDJSON body over and over "
      "(agent_progress, agent_heartbeat, item_completed, agent_started in turn, over the loaded agents). Events/s = "
      "growth of `progress_exporter_events_received_total{source=\"http\"}` / wall time of the wrk run. CPU: the "
      "exporter's utime+stime over the run.")
    w("")
    w("| agents | connections | POSTs | body bytes | events accepted | seconds | events/s | exporter CPU s | CPU µs/event | POST p50 ms | POST p99 ms | non-2xx |")
    w("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for agents in agents_list:
        for r in records:
            if r["kind"] == "ingest" and int(r["agents"]) == agents:
                accepted, seconds, cpu = num(r.get("accepted")), num(r.get("wall_seconds")), num(r.get("cpu_seconds"))
                w(f"| {agents:,} | {r.get('connections')} | {r.get('wrk_requests')} | {int(num(r.get('body_bytes'))):,} | "
                  f"{int(accepted):,} | {seconds:.1f} | {accepted / seconds:,.0f} | {cpu:.2f} | "
                  f"{cpu / accepted * 1e6 if accepted else float('nan'):.2f} | {num(r.get('wrk_latency_p50_us')) / 1000:.1f} | "
                  f"{num(r.get('wrk_latency_p99_us')) / 1000:.1f} | {r.get('wrk_status_errors')} |")
    w("")

    # Latency.
    w("## Event to /metrics")
    w("")
    w("50 rounds: POST one item_completed event, then GET /metrics until the job's completed counter shows it. "
      "`POST` is the POST round trip (the exporter applies events before it answers 202); `answered → visible` runs "
      "from the 202 to the end of the first GET that shows the change; `POST → visible` is the whole of it. "
      "`first GET` counts rounds where the very next scrape already showed it. A GET of the whole body is part "
      "of every round, so these grow with the body. p99 of 50 rounds is the slowest round.")
    w("")
    w("| agents | rounds | first GET | POST median ms | POST p99 ms | answered → visible median ms | p99 ms | POST → visible median ms | p99 ms | its GET median ms |")
    w("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for agents in agents_list:
        r = find("latency", agents)
        if r:
            w(f"| {agents:,} | {r.get('rounds')} | {r.get('polls_first_try')} | {ms(r.get('post_median_ms'))} | {ms(r.get('post_p99_ms'))} | "
              f"{ms(r.get('answered_to_visible_median_ms'))} | {ms(r.get('answered_to_visible_p99_ms'))} | "
              f"{ms(r.get('post_to_visible_median_ms'))} | {ms(r.get('post_to_visible_p99_ms'))} | {ms(r.get('scrape_median_ms'))} |")
    w("")

    # Targets.
    w("## Targets (issue 5)")
    w("")
    w("| target | " + " | ".join(f"{a:,} agents" for a in agents_list) + " |")
    w("|---|" + "---|" * len(agents_list))

    def row(label, cell):
        w(f"| {label} | " + " | ".join(cell(a) for a in agents_list) + " |")

    def verdict(value, ok, text):
        if value is None or math.isnan(value):
            return "–"
        return f"{text} {'✅' if ok(value) else '❌'}"

    def best_ingest(a):
        rates = [num(r.get("accepted")) / num(r.get("wall_seconds")) for r in records
                 if r["kind"] == "ingest" and int(r["agents"]) == a]
        return max(rates) if rates else None

    row(">= 300,000 events/s over HTTP (best of the wrk runs)",
        lambda a: verdict(best_ingest(a), lambda v: v >= 300_000, f"{best_ingest(a) or 0:,.0f}/s"))

    def get_ratio(a, top, bottom, key="median_ms", kind="get", **match):
        t, b = find(kind, a, server=top, **match), find(kind, a, server=bottom, **match)
        if not t or not b or num(b.get(key)) == 0:
            return None
        return num(t.get(key)) / num(b.get(key))

    for label, top, bottom, key, ok in [
        ("GET >= 10x faster than pushgateway", "pushgateway", "exporter", "median_ms", lambda v: v >= 10),
        ("GET >= 100x faster than python prometheus_client", "python", "exporter", "median_ms", lambda v: v >= 100),
        ("GET within 1.5x of nginx (exporter / nginx)", "exporter", "nginx", "median_ms", lambda v: v <= 1.5),
        ("CPU per scrape >= 10x less than pushgateway", "pushgateway", "exporter", "cpu_ms_per_scrape", lambda v: v >= 10),
    ]:
        row(label, lambda a, top=top, bottom=bottom, key=key, ok=ok: verdict(
            get_ratio(a, top, bottom, key), ok, f"{get_ratio(a, top, bottom, key) or 0:.2f}x"))
    row("GET within 1.2x of nginx (exporter / nginx; For operators)", lambda a: verdict(
        get_ratio(a, "exporter", "nginx"), lambda v: v <= 1.2, f"{get_ratio(a, 'exporter', 'nginx') or 0:.2f}x"))

    def gzip_ratio(a):
        g, p = find("getgz", a, server="exporter"), find("get", a, server="exporter")
        return num(g.get("median_ms")) / num(p.get("median_ms")) if g and p and num(p.get("median_ms")) else None

    row("gzip GET within 1.5x of a plain GET (exporter; For operators)", lambda a: verdict(
        gzip_ratio(a), lambda v: v <= 1.5, f"{gzip_ratio(a) or 0:.2f}x"))
    for mode in ("together", "alone"):
        if any(r.get("mode") == mode for r in prom):
            row(f"Prometheus scrape_duration within 1.2x of nginx ({mode}, avg)", lambda a, mode=mode: verdict(
                get_ratio(a, "exporter", "nginx", "avg_ms", "prom", mode=mode), lambda v: v <= 1.2,
                f"{get_ratio(a, 'exporter', 'nginx', 'avg_ms', 'prom', mode=mode) or 0:.2f}x"))
            row(f"Prometheus scrape_duration within 1.2x of nginx ({mode}, median)", lambda a, mode=mode: verdict(
                get_ratio(a, "exporter", "nginx", "median_ms", "prom", mode=mode), lambda v: v <= 1.2,
                f"{get_ratio(a, 'exporter', 'nginx', 'median_ms', 'prom', mode=mode) or 0:.2f}x"))

    def latency(a, key):
        r = find("latency", a)
        return num(r.get(key)) if r else None

    row("event to /metrics <= 10 ms (POST → visible, median)", lambda a: verdict(
        latency(a, "post_to_visible_median_ms"), lambda v: v <= 10, f"{latency(a, 'post_to_visible_median_ms') or 0:.2f} ms"))
    row("event to /metrics <= 10 ms (POST → visible, p99)", lambda a: verdict(
        latency(a, "post_to_visible_p99_ms"), lambda v: v <= 10, f"{latency(a, 'post_to_visible_p99_ms') or 0:.2f} ms"))
    w("")
    w("The issue states the GET, CPU and Prometheus targets for the 10,000-agent series set; the other columns are for scale.")
    w("")

    w("## Commands")
    w("")
    w("`$WORK` is the run's temporary folder.")
    w("")
    w("```sh")
    seen = set()
    for line in open(commands_path):
        line = line.rstrip("\n")
        if line and line not in seen:
            seen.add(line)
            w(line)
    w("```")
    print("\n".join(out))


def main():
    if sys.argv[1] == "get-stats":
        get_stats(sys.argv[2])
    elif sys.argv[1] == "prom-stats":
        prom_stats(sys.argv[2])
    elif sys.argv[1] == "write":
        write(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
