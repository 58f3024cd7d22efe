#!/usr/bin/env python3
"""What a hundred live-page clients cost ingestion.

    swift build -c release --product progress-exporter
    python3 Benchmarks/stream/bench.py .build/release/progress-exporter [--clients 100] [--rounds 3]

Starts the exporter on 127.0.0.1, then alternates runs without and with CLIENTS `curl -N`
clients on /api/v1/stream (a tenth of them on one job's agents, the others on the job list)
while one HTTP/1.1 connection POSTs batches of 10,000 events (1,000 agents of 10 jobs) as fast
as the exporter takes them. Prints events/s per run, the medians, and the cost in per cent.
Every process it starts is stopped."""
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def batch(round_number, count=10_000, agents=1_000):
    now = time.time()
    lines = []
    for i in range(count):
        agent = i % agents
        job = agent % 10
        kind = i % 4
        base = f'"job":"job-{job}","agent":"agent-{agent}","ts":{now:.3f}'
        if kind == 0:
            lines.append('{"type":"agent_progress",%s,"step":"transform","steps_completed":2,"total_steps":4}' % base)
        elif kind == 1:
            lines.append('{"type":"agent_heartbeat",%s}' % base)
        elif kind == 2:
            lines.append('{"type":"item_completed",%s,"item":"item-%d-%d","duration_seconds":1.5}' % (base, round_number, i))
        else:
            lines.append('{"type":"agent_started",%s,"item":"item-%d-%d","total_steps":4}' % (base, round_number, i + 1))
    return ("\n".join(lines) + "\n").encode()


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def thread_cpu_seconds(pid, name):
    total = 0.0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            if open(f"/proc/{pid}/task/{task}/comm").read().strip() == name:
                total += cpu_seconds_of(f"/proc/{pid}/task/{task}/stat")
        except OSError:
            pass
    return total


def cpu_seconds_of(path):
    fields = open(path).read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    args = sys.argv[1:]
    clients = int(args[args.index("--clients") + 1]) if "--clients" in args else 100
    rounds = int(args[args.index("--rounds") + 1]) if "--rounds" in args else 3
    posts = int(args[args.index("--posts") + 1]) if "--posts" in args else 60
    binary = os.path.abspath(args[0] if args and not args[0].startswith("--") else ".build/release/progress-exporter")
    port = free_port()
    exporter = subprocess.Popen([binary, "serve", "--web.listen-address", f"127.0.0.1:{port}", "--jobs.retention", "1h"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    curls = []
    try:
        deadline = time.time() + 20
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/-/healthy", timeout=2).read()
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.05)
        bodies = [batch(r) for r in range(posts)]
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

        def ingest():
            cpu0, start = cpu_seconds(exporter.pid), time.perf_counter()
            loop0 = thread_cpu_seconds(exporter.pid, "stream")
            for body in bodies:
                connection.request("POST", "/events", body=body)
                answer = connection.getresponse()
                answer.read()
                assert answer.status == 202, answer.status
            elapsed = time.perf_counter() - start
            total = cpu_seconds(exporter.pid) - cpu0
            loop_share.append((thread_cpu_seconds(exporter.pid, "stream") - loop0) / total if total > 0 else 0)
            return posts * 10_000 / elapsed, total / (posts * 10_000) * 1e9

        def connected():
            metrics = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
            for line in metrics.splitlines():
                if line.startswith("progress_exporter_stream_clients "):
                    return int(float(line.split()[1]))
            return -1

        loop_share = []
        ingest()  # warm-up: registers the agents
        results = {"without": [], "with": []}
        shares = []
        cpu = {"without": [], "with": []}
        for _ in range(rounds):
            for mode in ("without", "with"):
                if mode == "with":
                    for i in range(clients):
                        path = "/api/v1/stream" + ("?job=job-%d" % (i % 10) if i % 10 == 0 else "")
                        curls.append(subprocess.Popen(["curl", "-sN", "--max-time", "600", f"http://127.0.0.1:{port}{path}", "-o", "/dev/null"]))
                    deadline = time.time() + 20
                    while connected() < clients and time.time() < deadline:
                        time.sleep(0.1)
                    assert connected() == clients, f"only {connected()} of {clients} clients connected"
                rate, ns = ingest()
                results[mode].append(rate)
                cpu[mode].append(ns)
                print(f"{mode:>7} {clients if mode == 'with' else 0:3d} stream clients: {rate:10,.0f} events/s, exporter CPU {ns:6.0f} ns/event, "
                      f"stream loop {100 * loop_share[-1]:.1f} % of it", flush=True)
                if mode == "with":
                    shares.append(loop_share[-1])
                if mode == "with":
                    for curl in curls:
                        curl.terminate()
                    for curl in curls:
                        curl.wait()
                    curls.clear()
                    deadline = time.time() + 20
                    while connected() > 0 and time.time() < deadline:
                        time.sleep(0.2)
        without, with_clients = statistics.median(results["without"]), statistics.median(results["with"])
        cpu_without, cpu_with = statistics.median(cpu["without"]), statistics.median(cpu["with"])
        print(f"median of {rounds} runs each: {without:,.0f} events/s without clients, {with_clients:,.0f} with {clients}: "
              f"ingestion rate {100 * (with_clients - without) / without:+.1f} %; exporter CPU {cpu_without:.0f} vs {cpu_with:.0f} "
              f"ns/event ({100 * (cpu_with - cpu_without) / cpu_without:+.1f} %); the stream loop's own thread: "
              f"{100 * statistics.median(shares):.1f} % of the exporter's CPU with {clients} clients")
    finally:
        for curl in curls:
            curl.terminate()
            curl.wait()
        exporter.send_signal(signal.SIGTERM)
        try:
            exporter.wait(timeout=10)
        except subprocess.TimeoutExpired:
            exporter.kill()
            exporter.wait()


if __name__ == "__main__":
    main()
