#!/usr/bin/env python3
"""NDJSON tracker events for the peer benchmark.

  gen_events.py load   --agents N [--jobs 10] --url URL   POST a realistic history for N agents
  gen_events.py refresh --agents N [--jobs 10] --url URL  POST one progress event per agent, now
  gen_events.py body   --agents N [--jobs 10] --events E --out FILE   one POST body for the ingest run

The event mix is the one a runner sends: per agent agent_started, agent_progress,
agent_heartbeat, item_completed, then agent_started and agent_progress again (so agents end up
running an item part-way), over `--jobs` jobs that were announced with job_started and a planned
total.
"""
import argparse
import http.client
import json
import sys
import time
import urllib.parse


def job_of(agent: int, jobs: int) -> str:
    return f"job-{agent % jobs}"


def history_lines(agents: int, jobs: int, now: float):
    """Yields the history that brings `agents` agents to a running state, 6 events per agent."""
    for j in range(jobs):
        yield json.dumps({"type": "job_started", "job": f"job-{j}", "total_items": agents * 10 // jobs + 100,
                          "ts": round(now - 120, 3)}, separators=(",", ":"))
    for a in range(agents):
        job, agent = job_of(a, jobs), f"agent-{a}"
        ts = now - 60 + (a % 600) * 0.05
        item = f"item-{a}-0"
        yield f'{{"type":"agent_started","job":"{job}","agent":"{agent}","item":"{item}","total_steps":4,"ts":{ts:.3f}}}'
        yield f'{{"type":"agent_progress","job":"{job}","agent":"{agent}","step":"transform","steps_completed":2,"total_steps":4,"ts":{ts + 5:.3f}}}'
        yield f'{{"type":"agent_heartbeat","job":"{job}","agent":"{agent}","ts":{ts + 8:.3f}}}'
        yield f'{{"type":"item_completed","job":"{job}","agent":"{agent}","item":"{item}","duration_seconds":12.5,"ts":{ts + 12:.3f}}}'
        yield f'{{"type":"agent_started","job":"{job}","agent":"{agent}","item":"item-{a}-1","total_steps":4,"ts":{ts + 12.5:.3f}}}'
        yield f'{{"type":"agent_progress","job":"{job}","agent":"{agent}","step":"load","steps_completed":1,"total_steps":4,"ts":{ts + 16:.3f}}}'


def ingest_lines(agents: int, jobs: int, events: int, now: float):
    """Yields `events` steady-state events over the agents, the four kinds in turn."""
    for i in range(events):
        a = (i * 7919) % agents
        job, agent = job_of(a, jobs), f"agent-{a}"
        ts = now - 30 + (i % 1000) * 0.01
        kind = i % 4
        if kind == 0:
            yield f'{{"type":"agent_progress","job":"{job}","agent":"{agent}","step":"transform","steps_completed":3,"total_steps":4,"ts":{ts:.3f}}}'
        elif kind == 1:
            yield f'{{"type":"agent_heartbeat","job":"{job}","agent":"{agent}","ts":{ts:.3f}}}'
        elif kind == 2:
            yield f'{{"type":"item_completed","job":"{job}","agent":"{agent}","item":"item-{a}-b{i}","duration_seconds":9.5,"ts":{ts:.3f}}}'
        else:
            yield f'{{"type":"agent_started","job":"{job}","agent":"{agent}","item":"item-{a}-b{i + 1}","total_steps":4,"ts":{ts:.3f}}}'


def refresh_lines(agents: int, jobs: int):
    """Yields one progress event per agent and one finished item per job, all at arrival time.

    Agents silent for 5 minutes raise the built-in AgentStalled/AgentLost alerts (and jobs without
    finished items JobStalled), which would add progress_alert_active series that the peers do not
    serve; this keeps every agent at the step it was loaded with.
    """
    for j in range(jobs):
        # No agent: an agent's item_completed would end the item it is running.
        yield f'{{"type":"item_completed","job":"job-{j}","item":"refresh-{time.time_ns()}-{j}","duration_seconds":12.5}}'
    for a in range(agents):
        yield (f'{{"type":"agent_progress","job":"{job_of(a, jobs)}","agent":"agent-{a}","step":"load",'
               f'"steps_completed":1,"total_steps":4}}')


def post_all(url: str, lines, batch: int) -> int:
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    accepted = 0
    chunk = []

    def flush():
        nonlocal accepted
        body = ("\n".join(chunk) + "\n").encode()
        conn.request("POST", parts.path, body=body, headers={"Content-Type": "application/x-ndjson"})
        response = conn.getresponse()
        answer = response.read()
        if response.status != 202:
            sys.exit(f"POST {url}: {response.status} {answer[:300]!r}")
        summary = json.loads(answer)
        if summary.get("rejected"):
            sys.exit(f"POST {url}: rejected lines: {summary}")
        accepted += summary.get("accepted", 0)
        chunk.clear()

    for line in lines:
        chunk.append(line)
        if len(chunk) >= batch:
            flush()
    if chunk:
        flush()
    conn.close()
    return accepted


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["load", "refresh", "body"])
    parser.add_argument("--agents", type=int, required=True)
    parser.add_argument("--jobs", type=int, default=10)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--url")
    parser.add_argument("--out")
    parser.add_argument("--batch", type=int, default=10_000)
    args = parser.parse_args()
    now = time.time()
    if args.mode in ("load", "refresh"):
        lines = history_lines(args.agents, args.jobs, now) if args.mode == "load" else refresh_lines(args.agents, args.jobs)
        print(post_all(args.url, lines, args.batch))
    else:
        with open(args.out, "w") as out:
            for line in ingest_lines(args.agents, args.jobs, args.events, now):
                out.write(line + "\n")


if __name__ == "__main__":
    main()
