#!/usr/bin/env python3
"""Registers N new agents over HTTP and prints the rate: 100 jobs, bodies of 10,000 `agent_started`
events, 4 clients over keep-alive connections, every POST checked for its 202.

    Benchmarks/scale/register_http.py PORT AGENTS

Start the exporter first (a release build, default rules), e.g.
    .build/release/progress-exporter --web.listen-address 127.0.0.1:19465
"""
import http.client, sys, threading, time
port, total = int(sys.argv[1]), int(sys.argv[2])
per_body = 10_000
now = time.time()
bodies = []
for b in range(total // per_body):
    lines = []
    for i in range(per_body):
        n = b * per_body + i
        lines.append('{"type":"agent_started","job":"job-%d","agent":"agent-%d","item":"i-%d","ts":%.3f}' % (n % 100, n, n, now))
    bodies.append(("\n".join(lines) + "\n").encode())
lock = threading.Lock()
queue = list(range(len(bodies)))
def worker():
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    while True:
        with lock:
            if not queue: return
            i = queue.pop()
        conn.request("POST", "/events", bodies[i], {"Content-Type": "application/x-ndjson"})
        r = conn.getresponse(); r.read()
        assert r.status == 202, r.status
start = time.time()
threads = [threading.Thread(target=worker) for _ in range(4)]
[t.start() for t in threads]; [t.join() for t in threads]
elapsed = time.time() - start
print(f"{total} agents in {elapsed:.2f} s: {total/elapsed/1000:.0f}k agents/s")
