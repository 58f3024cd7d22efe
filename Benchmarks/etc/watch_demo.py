#!/usr/bin/env python3
"""Watches the built-in demo's first runs to their end through /api/v1/jobs (what the page shows) and
prints, per job, the finish time and 80 % band shown at 50 % and at 2,999/3,000, the real end, and how
often the band held the real end.

Usage: python3 Benchmarks/etc/watch_demo.py [BINARY] [--minutes 10]
"""
import argparse
import json
import socket
import subprocess
import time
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary", nargs="?", default=".build/debug/progress-exporter")
    parser.add_argument("--minutes", type=float, default=10)
    args = parser.parse_args()
    port = free_port()
    exporter = subprocess.Popen([args.binary, "--demo", "--web.listen-address", f"127.0.0.1:{port}"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    reads = {}  # job -> [(t, finished, planned, status, finish, lower, upper_or_None)]
    ends = {}
    try:
        deadline = time.time() + args.minutes * 60
        while time.time() < deadline:
            time.sleep(2)
            try:
                body = urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/jobs?limit=5000", timeout=5).read()
            except OSError:
                continue
            now = time.time()
            for job in json.loads(body)["jobs"]:
                name = job["job"]
                if not name.endswith("-run1"):
                    continue
                if job["status"] != "running" or job.get("remaining") == 0:
                    ends.setdefault(name, job.get("estimated_completion_timestamp") or job["last_event_timestamp"])
                    continue
                eta = job.get("eta_seconds")
                lower, upper = job.get("eta_lower_bound_seconds"), job.get("eta_upper_bound_seconds")
                finish = job.get("estimated_completion_timestamp")
                reads.setdefault(name, []).append(
                    (now, job["finished"], job.get("planned"), finish,
                     None if lower is None or eta is None or finish is None else finish - eta + lower,
                     None if upper is None or eta is None or finish is None else finish - eta + upper))
            if len(ends) == 3 and all(name in ends for name in reads):
                break
    finally:
        exporter.terminate()
        exporter.wait(timeout=30)
    print("| job | at 50 %: finish shown, band | at 2,999/3,000: finish shown, band | real end | band held the real end |")
    print("|---|---|---|---|---|")
    for name, rows in sorted(reads.items()):
        start = rows[0][0]
        end = ends.get(name)
        def rel(t):
            return "-" if t is None else f"+{t - start:.0f} s"
        def at(pick):
            row = next((r for r in rows if pick(r)), None)
            if row is None:
                return "-"
            return f"{rel(row[3])}, {rel(row[4])} to {'open' if row[5] is None else rel(row[5])}"
        half = at(lambda r: r[2] and r[1] >= r[2] / 2)
        last = at(lambda r: r[2] and r[1] >= r[2] - 1)
        held = sum(1 for r in rows if end is not None and r[4] is not None and r[4] <= end and (r[5] is None or end <= r[5]))
        print(f"| {name} | {half} | {last} | {rel(end)} | {held} of {len(rows)} reads ({100 * held / max(1, len(rows)):.0f} %) |")


if __name__ == "__main__":
    main()
