#!/usr/bin/env python3
"""How many events per second the Python client puts into one exporter.

    python3 Benchmarks/python-client/bench.py PATH/TO/progress-exporter [--items 100000] [--rounds 3]

Starts the exporter on 127.0.0.1 (a free port, no storage) and, per round, one Tracker in this
process: one thread runs ITEMS items through `with job.item(...)` (two events each, 4 agents),
then `flush()` waits until the exporter has answered for all of them. Prints, per round, the
caller's rate (events queued per second of the loop), the delivered rate (events per second from
the first call to the end of the flush), the batches' retries and drops, and the CPU seconds the
exporter and this process used; then the medians. The queue is sized to hold every event, so the
delivered rate is not lowered by drops. The exporter is always stopped."""
import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "clients" / "python" / "src"))
from progress_exporter_client import Tracker  # noqa: E402


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid):
    """User + system CPU seconds of a process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_ready(url, process, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"the exporter exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/-/ready", timeout=2):
                return
        except OSError:
            time.sleep(0.05)
    sys.exit("the exporter was not ready")


def one_round(url, exporter_pid, round_number, items):
    tracker = Tracker(url, max_queue_events=2 * items + 10)
    job = tracker.job(f"bench-{round_number}", total_items=items)
    exporter_cpu, own_cpu = cpu_seconds(exporter_pid), time.process_time()
    start = time.perf_counter()
    for n in range(items):
        with job.item(f"agent-{n % 4}", f"item-{n}"):
            pass
    queued = time.perf_counter()
    delivered = tracker.flush(300)
    done = time.perf_counter()
    exporter_cpu, own_cpu = cpu_seconds(exporter_pid) - exporter_cpu, time.process_time() - own_cpu
    tracker.close()
    stats = tracker.stats()
    events = 2 * items
    assert delivered and stats.sent == events + 1 and stats.rejected == 0, stats
    return events / (queued - start), events / (done - start), stats, exporter_cpu, own_cpu


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("binary")
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    exporter = subprocess.Popen([args.binary, "--web.listen-address", f"127.0.0.1:{port}",
                                 "--log.level", "warn"])
    try:
        wait_ready(url, exporter)
        print(f"{args.items:,} items (= {2 * args.items:,} events) per round, one thread, one Tracker")
        print("round | queued/s (caller) | delivered/s | retries | dropped | exporter CPU s | client CPU s")
        queued_rates, delivered_rates = [], []
        for round_number in range(1, args.rounds + 1):
            queued, delivered, stats, exporter_cpu, own_cpu = one_round(
                url, exporter.pid, round_number, args.items)
            queued_rates.append(queued)
            delivered_rates.append(delivered)
            print(f"{round_number} | {queued:,.0f} | {delivered:,.0f} | {stats.retries} | "
                  f"{stats.dropped} | {exporter_cpu:.2f} | {own_cpu:.2f}")
        print(f"median | {statistics.median(queued_rates):,.0f} | "
              f"{statistics.median(delivered_rates):,.0f}")
    finally:
        exporter.send_signal(signal.SIGTERM)
        try:
            exporter.wait(15)
        except subprocess.TimeoutExpired:
            exporter.kill()
            exporter.wait()


if __name__ == "__main__":
    main()
