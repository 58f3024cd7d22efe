#!/usr/bin/env python3
"""Everything one cheap client can throw at the exporter at once, and what a normal user still gets.

Starts the exporter (TLS off, basic auth with a cost-12 bcrypt user, an events bearer token) and, all at
once, from many loopback addresses:
  - 3,000 connections from 30 addresses trickling request headers a byte at a time;
  - 2,000 idle readers of /api/v1/stream (right password, cached after the first check; at most
    --web.max-stream-clients, 1,000, are admitted, the rest get 503);
  - 64 keep-alive connections sending new wrong passwords as fast as they are answered (bcrypt flood);
  - 16 POST /events announcing a 16 MiB body and sending nothing, without a token.
Meanwhile a scraper (its own address, right password) GETs /metrics twice a second and a tracker POSTs
events with the token once a second. Prints the scraper's latencies, the tracker's answers, what the
attackers got, and the exporter's own counters, then PASS or FAIL for the goal: every scrape under a
second and every authorised POST 202.

Usage: python3 Benchmarks/flood/run.py [path/to/progress-exporter] [--seconds 20]
"""
import argparse
import asyncio
import base64
import ctypes
import ctypes.util
import json
import os
import random
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

USER, PASSWORD, TOKEN = "scraper", "right-password", "flood-test-token"


def bcrypt_hash(password: str, cost: int) -> str:
    lib = ctypes.CDLL(ctypes.util.find_library("crypt"))
    lib.crypt.restype = ctypes.c_char_p
    salt = "".join(random.choice("./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") for _ in range(22))
    return lib.crypt(password.encode(), f"$2b${cost:02d}${salt}".encode()).decode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def sample(text: str, series: str) -> float:
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.rsplit(" ", 1)[1])
    return float("nan")


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


async def connect(port: int, source: str):
    return await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))


async def trickler(port: int, source: str, stop: asyncio.Event, counts: dict):
    try:
        reader, writer = await connect(port, source)
    except OSError:
        counts["trickle_refused"] += 1
        return
    counts["trickle_open"] += 1
    request = f"GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: {basic(USER, PASSWORD)}\r\nX-Slow: " + "a" * 10000
    try:
        for byte in request.encode():
            if stop.is_set():
                break
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(1)
    except (ConnectionError, OSError):
        counts["trickle_cut"] += 1
    finally:
        writer.close()


async def stream_reader(port: int, source: str, stop: asyncio.Event, counts: dict):
    try:
        reader, writer = await connect(port, source)
        writer.write(f"GET /api/v1/stream HTTP/1.1\r\nHost: x\r\nAuthorization: {basic(USER, PASSWORD)}\r\n\r\n".encode())
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
        counts["stream_" + head.split(b" ")[1].decode()] += 1
        while not stop.is_set():
            try:
                if not await asyncio.wait_for(reader.read(65536), 1):
                    break
            except asyncio.TimeoutError:
                pass
        writer.close()
    except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError) as error:
        counts["stream_failed"] += 1


async def bcrypt_flooder(port: int, source: str, stop: asyncio.Event, counts: dict):
    while not stop.is_set():
        try:
            reader, writer = await connect(port, source)
            while not stop.is_set():
                wrong = basic(USER, "wrong-%d" % random.getrandbits(64))
                writer.write(f"GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: {wrong}\r\n\r\n".encode())
                await writer.drain()
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
                status = head.split(b" ")[1].decode()
                counts["bcrypt_" + status] += 1
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                if length:
                    await reader.readexactly(length)
                if b"connection: close" in head.lower():
                    break
            writer.close()
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError):
            counts["bcrypt_reconnect"] += 1
            await asyncio.sleep(0.05)


async def silent_upload(port: int, source: str, stop: asyncio.Event, counts: dict):
    try:
        reader, writer = await connect(port, source)
        writer.write(b"POST /events HTTP/1.1\r\nHost: x\r\nContent-Length: 16777216\r\nExpect: 100-continue\r\n\r\n")
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
        counts["upload_" + head.split(b" ")[1].decode()] += 1
        await stop.wait()
        writer.close()
    except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError):
        counts["upload_failed"] += 1


def scraper(port: int, seconds: float, results: dict):
    auth = basic(USER, PASSWORD)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        request = urllib.request.Request(f"http://127.0.0.1:{port}/metrics", headers={"Authorization": auth})
        started = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                answer.read()
                results["scrapes"].append((answer.status, time.monotonic() - started))
        except Exception as error:  # a failed scrape is a result, not a crash
            results["scrapes"].append((str(error)[:60], time.monotonic() - started))
        time.sleep(0.5)


def tracker(port: int, seconds: float, results: dict):
    deadline = time.monotonic() + seconds
    n = 0
    while time.monotonic() < deadline:
        n += 1
        body = json.dumps({"type": "agent_progress", "job": "flood", "agent": "a1", "progress": min(1, n / 100)}).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/events", data=body, method="POST", headers={"Authorization": f"Bearer {TOKEN}"})
        started = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                answer.read()
                results["posts"].append((answer.status, time.monotonic() - started))
        except urllib.error.HTTPError as error:
            results["posts"].append((error.code, time.monotonic() - started))
        except Exception as error:
            results["posts"].append((str(error)[:60], time.monotonic() - started))
        time.sleep(1)


async def attack(port: int, seconds: float, counts: dict):
    stop = asyncio.Event()
    tasks = []
    # 30 addresses x 100 tricklers; 20 x 100 stream readers; 64 flooders and 16 uploaders from 4 more.
    for a in range(30):
        tasks += [asyncio.create_task(trickler(port, f"127.0.10.{a + 1}", stop, counts)) for _ in range(100)]
    for a in range(20):
        tasks += [asyncio.create_task(stream_reader(port, f"127.0.20.{a + 1}", stop, counts)) for _ in range(100)]
    tasks += [asyncio.create_task(bcrypt_flooder(port, f"127.0.30.{i % 4 + 1}", stop, counts)) for i in range(64)]
    tasks += [asyncio.create_task(silent_upload(port, "127.0.40.1", stop, counts)) for _ in range(16)]
    await asyncio.sleep(seconds)
    stop.set()
    await asyncio.wait(tasks, timeout=15)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary", nargs="?", default=".build/release/progress-exporter")
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    folder = tempfile.mkdtemp(prefix="flood-")
    with open(f"{folder}/web.yml", "w") as f:
        f.write(f"basic_auth_users:\n  {USER}: \"{bcrypt_hash(PASSWORD, 12)}\"\n")
    with open(f"{folder}/token", "w") as f:
        f.write(TOKEN)
    os.chmod(f"{folder}/token", 0o600)
    port = free_port()
    exporter = subprocess.Popen(
        [args.binary, "--web.listen-address", f"127.0.0.1:{port}", "--web.config.file", f"{folder}/web.yml",
         "--web.events-bearer-token-file", f"{folder}/token"], stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(urllib.request.Request(
                    f"http://127.0.0.1:{port}/-/healthy", headers={"Authorization": basic(USER, PASSWORD)}), timeout=5).read()
                break
            except Exception:
                time.sleep(0.1)
        counts = {k: 0 for k in ["trickle_open", "trickle_refused", "trickle_cut", "stream_failed", "bcrypt_reconnect", "upload_failed"]}
        counts = __import__("collections").defaultdict(int, counts)
        results = {"scrapes": [], "posts": []}
        cpu_before = cpu_seconds(exporter.pid)
        attackers = threading.Thread(target=lambda: asyncio.run(attack(port, args.seconds + 4, counts)))
        attackers.start()
        time.sleep(4)  # let every attacker connect first
        workers = [threading.Thread(target=scraper, args=(port, args.seconds, results)),
                   threading.Thread(target=tracker, args=(port, args.seconds, results))]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        metrics = urllib.request.urlopen(urllib.request.Request(
            f"http://127.0.0.1:{port}/metrics", headers={"Authorization": basic(USER, PASSWORD)}), timeout=10).read().decode()
        cpu = cpu_seconds(exporter.pid) - cpu_before
        attackers.join()
    finally:
        exporter.send_signal(signal.SIGTERM)
        exporter.wait(timeout=30)

    ok_scrapes = [t for s, t in results["scrapes"] if s == 200]
    latencies = sorted(t for _, t in results["scrapes"])
    posts = [s for s, _ in results["posts"]]
    print(f"flood for {args.seconds:.0f} s: 3,000 tricklers (30 addresses), 2,000 stream readers, "
          f"64 bcrypt flooders (cost 12), 16 silent 16 MiB uploads; exporter CPU {cpu:.1f} s\n")
    print("| who | what they got |")
    print("|---|---|")
    print(f"| scraper (/metrics, right password) | {len(ok_scrapes)}/{len(results['scrapes'])} 200; latency median "
          f"{statistics.median(latencies) * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms |")
    print(f"| tracker (POST /events, token) | {posts.count(202)}/{len(posts)} 202; others: {sorted(set(posts) - {202})} |")
    print(f"| tricklers | {counts['trickle_open']} connected, {counts['trickle_refused']} refused at connect, {counts['trickle_cut']} cut later |")
    streams = {k: v for k, v in counts.items() if k.startswith("stream_")}
    print(f"| stream readers (1,000 admitted at most) | {streams} |")
    flood = {k: v for k, v in counts.items() if k.startswith("bcrypt_")}
    print(f"| bcrypt flooders | {flood} |")
    uploads = {k: v for k, v in counts.items() if k.startswith("upload_")}
    print(f"| silent uploads | {uploads} |")
    for series in ["progress_exporter_http_open_connections", "progress_exporter_http_connections_evicted_total",
                   "progress_exporter_stream_clients", "progress_exporter_http_body_buffered_bytes"]:
        print(f"| exporter: {series} | {sample(metrics, series):.0f} |")
    for limit in ["max_connections", "max_connections_per_ip"]:
        refused = sample(metrics, 'progress_exporter_http_connections_refused_total{limit="%s"}' % limit)
        print(f"| exporter: refused ({limit}) | {refused:.0f} |")
    goal = len(ok_scrapes) == len(results["scrapes"]) and max(latencies) < 1 and posts and all(p == 202 for p in posts)
    print("\nPASS: every scrape under a second, every authorised POST 202" if goal else "\nFAIL: see above")
    sys.exit(0 if goal else 1)


if __name__ == "__main__":
    main()
