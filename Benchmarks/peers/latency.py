#!/usr/bin/env python3
"""Event-to-/metrics latency: POST one event, then GET /metrics until its effect shows.

  latency.py URL AGENTS [COUNT] [JOBS]

Each round reads a job's completed counter, POSTs one item_completed event for an agent of that
job (a new item, no `ts`, so it counts now), then scrapes /metrics until the counter has grown
(at most 200 scrapes or 5 s a round). Keep-alive connections, one for POST and one for GET.
Prints one line of key=value results (milliseconds).
"""
import http.client
import math
import statistics
import sys
import time
import urllib.parse


def percentile(values, p):
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def counter(body: bytes, key: bytes) -> float:
    start = body.find(key)
    if start < 0:
        return 0.0
    end = body.find(b"\n", start)
    return float(body[start + len(key):end])


def main() -> None:
    url, agents = sys.argv[1], int(sys.argv[2])
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 50
    jobs = int(sys.argv[4]) if len(sys.argv) > 4 else 10
    parts = urllib.parse.urlsplit(url)
    poster = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    getter = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)

    def scrape() -> bytes:
        getter.request("GET", "/metrics")
        response = getter.getresponse()
        return response.read()

    post_ms, answered_to_visible_ms, post_to_visible_ms, scrape_ms, polls = [], [], [], [], []
    misses = 0
    for round_ in range(count):
        agent = (round_ * 7919) % agents
        job = f"job-{agent % jobs}"
        key = f'progress_job_items_processed_total{{job_name="{job}",outcome="completed"}} '.encode()
        before = counter(scrape(), key)
        event = (f'{{"type":"item_completed","job":"{job}","agent":"agent-{agent}",'
                 f'"item":"latency-{time.time_ns()}-{round_}","duration_seconds":3}}\n').encode()
        t0 = time.perf_counter()
        poster.request("POST", "/events", body=event, headers={"Content-Type": "application/x-ndjson"})
        response = poster.getresponse()
        response.read()
        t1 = time.perf_counter()
        if response.status != 202:
            sys.exit(f"latency: POST answered {response.status}")
        seen = False
        for poll in range(1, 201):
            ts = time.perf_counter()
            body = scrape()
            t2 = time.perf_counter()
            if counter(body, key) > before:
                seen = True
                break
            if t2 - t1 > 5:
                break
        if not seen:
            misses += 1
            continue
        post_ms.append((t1 - t0) * 1000)
        answered_to_visible_ms.append((t2 - t1) * 1000)
        post_to_visible_ms.append((t2 - t0) * 1000)
        scrape_ms.append((t2 - ts) * 1000)
        polls.append(poll)
    if not post_ms:
        sys.exit("latency: no event became visible")
    print(" ".join([
        f"rounds={len(post_ms)}", f"misses={misses}",
        f"post_median_ms={statistics.median(post_ms):.3f}", f"post_p99_ms={percentile(post_ms, 99):.3f}",
        f"answered_to_visible_median_ms={statistics.median(answered_to_visible_ms):.3f}",
        f"answered_to_visible_p99_ms={percentile(answered_to_visible_ms, 99):.3f}",
        f"post_to_visible_median_ms={statistics.median(post_to_visible_ms):.3f}",
        f"post_to_visible_p99_ms={percentile(post_to_visible_ms, 99):.3f}",
        f"scrape_median_ms={statistics.median(scrape_ms):.3f}",
        f"polls_max={max(polls)}", f"polls_first_try={sum(1 for p in polls if p == 1)}",
    ]))


if __name__ == "__main__":
    main()
