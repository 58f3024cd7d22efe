#!/usr/bin/env python3
"""Loads a pushgateway with the exporter's /metrics body, one push per tracker job.

  pushgateway_load.py BODY_FILE PUSHGATEWAY_URL [EXPORTER_GROUP]

The pushgateway sets its grouping key's labels on every pushed series. When the results in
RESULTS.md were measured the tracker's job was the label `job`, so a single push under
job="progress-exporter" would have overwritten it and made the series of different jobs collide
(the pushgateway refuses such a push); a tracker that pushed would push per job instead. The
label is `job_name` now (since 2026-11), which the grouping key leaves alone, but the load keeps
pushing per tracker job so that its numbers stay comparable: series with job_name="X" go to
/metrics/job/X, keeping their labels and values (and gaining job="X"); series without `job_name`
(the exporter's self-metrics) go to /metrics/job/EXPORTER_GROUP and so gain job="EXPORTER_GROUP". The pushgateway's own process_* metrics would clash with the exporter's
(same names, other HELP text), so the exporter's six are pushed as exporter_process_*: same
series count, other names. The pushgateway also adds instance="" to every pushed series, and
push_time_seconds / push_failure_time_seconds per group. Prints the pushed series count.
"""
import re
import sys
import urllib.error
import urllib.parse
import urllib.request

JOB = re.compile(r'[{,]job_name="((?:[^"\\]|\\.)*)"')


def split(body: str, default_group: str) -> dict:
    """Groups the body's lines by their `job_name` label: {group: [lines]} with HELP/TYPE per family."""
    headers = {}  # family -> [HELP, TYPE] lines
    groups = {}
    family = None
    emitted = set()  # (group, family) pairs whose headers are written
    for line in body.splitlines():
        if not line or line == "# EOF":
            continue
        if line.startswith("process_") or line.startswith("# HELP process_") or line.startswith("# TYPE process_"):
            line = line.replace("process_", "exporter_process_", 1)
        if line.startswith("#"):
            parts = line.split(" ", 3)
            if parts[1] in ("HELP", "TYPE"):
                family = parts[2]
                headers.setdefault(family, []).append(line)
            continue
        match = JOB.search(line)
        group = match.group(1) if match else default_group
        lines = groups.setdefault(group, [])
        if (group, family) not in emitted:
            emitted.add((group, family))
            lines.extend(headers.get(family, []))
        lines.append(line)
    return groups


def main() -> None:
    body_file, url = sys.argv[1], sys.argv[2].rstrip("/")
    default_group = sys.argv[3] if len(sys.argv) > 3 else "progress-exporter"
    with open(body_file) as f:
        groups = split(f.read(), default_group)
    series = 0
    for group, lines in groups.items():
        data = ("\n".join(lines) + "\n").encode()
        request = urllib.request.Request(f"{url}/metrics/job/{urllib.parse.quote(group, safe='')}", data=data,
                                         method="PUT", headers={"Content-Type": "text/plain; version=0.0.4"})
        try:
            with urllib.request.urlopen(request, timeout=300) as response:
                response.read()
        except urllib.error.HTTPError as error:
            sys.exit(f"pushgateway refused group {group}: {error.code} {error.read()[:500]!r}")
        series += sum(1 for line in lines if not line.startswith("#"))
    print(series)


if __name__ == "__main__":
    main()
