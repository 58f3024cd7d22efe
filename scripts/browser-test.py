#!/usr/bin/env python3
"""The live page in a real headless Chromium, against the real binary:
the demo's jobs appear, numbers change without a reload, an alert shows up when an agent stalls
(with a hostile agent id that must stay text), the agents table sorts, the page recovers after
the exporter restarts, and the time from a POST to the number changing on the page at 1,000 agents.

    python3 scripts/browser-test.py .build/debug/progress-exporter [--screenshots docs]

Prints one line per check and "browser: N checks passed" (exit 1 on the first failure). Only
127.0.0.1; every process it starts is stopped, whatever happens."""
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cdp  # noqa: E402

CONFIG = """evaluation_interval: 1s
rules:
  - alert: AgentStalled
    kind: agent_stalled
    after: 2s
    for: 0s
    severity: warning
    jobs: "browser-.*"
    annotations:
      summary: "{{agent}} of {{job}} made no progress for {{value}}"
  - alert: AgentFailing
    kind: agent_failing
receivers:
  - name: log
    log: {}
"""

HOSTILE = '<img src=x onerror="window.__pwned=1">"\'&amp;'


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Exporter:
    def __init__(self, binary, port, config, arguments=None):
        self.binary, self.port, self.config = binary, port, config
        self.arguments = arguments
        self.process = None

    def start(self):
        self.log = tempfile.TemporaryFile()
        arguments = self.arguments if self.arguments is not None else [
            "--demo", "--demo.item-seconds", "1", "--config.file", self.config]
        self.process = subprocess.Popen(
            [self.binary, "serve", "--web.listen-address", f"127.0.0.1:{self.port}"] + arguments,
            stdout=subprocess.DEVNULL, stderr=self.log, stdin=subprocess.DEVNULL)
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                urllib.request.urlopen(self.url("/-/healthy"), timeout=2).read()
                return
            except OSError:
                if self.process.poll() is not None:
                    break
                time.sleep(0.05)
        self.log.seek(0)
        raise RuntimeError("exporter did not start: " + self.log.read().decode(errors="replace")[-2000:])

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def post(self, lines):
        body = ("\n".join(json.dumps(line) for line in lines) + "\n").encode()
        request = urllib.request.Request(self.url("/events"), data=body, method="POST")
        return json.load(urllib.request.urlopen(request, timeout=10))

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


passed = 0


def check(name, condition, detail=""):
    global passed
    if not condition:
        raise AssertionError(f"FAIL {name} {detail}")
    passed += 1
    print(f"ok   {name} {detail}".rstrip(), flush=True)


# JavaScript helpers run in the page.
CARD_FIELD = """((job, field) => {
  for (const card of document.querySelectorAll('.card'))
    if (card.dataset.job === job) { const e = card.querySelector('[data-field="' + field + '"]'); return e ? e.textContent : null; }
  return null; })"""

# {label: [value, sub]} of a job's card.
CARD_STATS = """((job) => {
  const out = {};
  for (const card of document.querySelectorAll('.card'))
    if (card.dataset.job === job)
      for (const s of card.querySelectorAll('.stat')) out[s.querySelector('.label').textContent] = [s.querySelector('.value').textContent, s.querySelector('.sub').textContent];
  return out; })"""

MEASURE = """(async (url, job, agent, rounds) => {
  const times = [];
  const field = () => { for (const c of document.querySelectorAll('.card')) if (c.dataset.job === job) return c.querySelector('[data-field="finished"]'); };
  for (let i = 0; i < rounds; i++) {
    const target = field();
    const before = target.textContent;
    const changed = new Promise((resolve) => {
      const observer = new MutationObserver(() => { if (target.textContent !== before) { observer.disconnect(); resolve(performance.now()); } });
      observer.observe(target, { childList: true, characterData: true, subtree: true });
      setTimeout(() => { observer.disconnect(); resolve(null); }, 5000);
    });
    const line = JSON.stringify({ type: 'item_completed', job, agent, item: 'latency-' + i + '-' + Math.random() });
    const start = performance.now();
    await fetch(url, { method: 'POST', body: line + '\\n' });
    const at = await changed;
    times.push(at === null ? null : at - start);
    await new Promise((r) => setTimeout(r, 150 + Math.random() * 100));
  }
  return times; })"""


def within_band(finish, band):
    """Whether a card's finish (HH:MM:SS today) lies in its band: "HH:MM – HH:MM", "HH:MM:SS – :SS"
    (the same minute) or "HH:MM:SS – open"."""
    low, high = band.split(" – ")
    if high == "open":
        return low <= finish
    if high.startswith(":"):
        high = low[:5] + high
    return low <= finish[:len(low)] and finish[:len(high)] <= high


def main():
    args = sys.argv[1:]
    screenshots = None
    if "--screenshots" in args:
        index = args.index("--screenshots")
        screenshots = args[index + 1]
        del args[index:index + 2]
    binary = os.path.abspath(args[0] if args else ".build/debug/progress-exporter")
    folder = tempfile.mkdtemp(prefix="pe-browser-")
    config = os.path.join(folder, "config.yml")
    with open(config, "w") as f:
        f.write(CONFIG)
    exporter = Exporter(binary, free_port(), config)
    browser = None
    try:
        exporter.start()
        browser = cdp.Browser()
        browser.navigate(exporter.url("/"))

        # The demo's jobs appear.
        names = browser.wait_for("[...document.querySelectorAll('.card')].map(c => c.dataset.job).length >= 3 && "
                                 "[...document.querySelectorAll('.card')].map(c => c.dataset.job)", 20, "the demo's three cards")
        check("the demo's jobs appear", sorted(names) == ["etl-nightly-run1", "image-gen-run1", "review-batch-run1"], str(names))
        check("the stream is live", browser.wait_for("document.getElementById('conn').textContent === 'live'", 10))

        # Numbers change without a reload.
        browser.evaluate("window.__sameDocument = true")
        job = "etl-nightly-run1"
        first = browser.evaluate(f"{CARD_FIELD}('{job}', 'finished')")
        later = browser.wait_for(f"(() => {{ const v = {CARD_FIELD}('{job}', 'finished'); return v !== {json.dumps(first)} && v; }})()",
                                 15, "the done count to change")
        check("numbers change without a reload", browser.evaluate("window.__sameDocument === true"), f"{first} -> {later}")
        check("the burn-down has history", browser.wait_for(f"(liveState.histories.get('{job}') || []).length >= 1", 15))

        # An alert shows up when an agent stalls; its hostile id stays text.
        now = time.time()
        exporter.post([
            {"type": "job_started", "job": "browser-stall", "total_items": 10, "ts": now},
            {"type": "agent_started", "job": "browser-stall", "agent": HOSTILE, "item": "<b>item</b>", "ts": now},
        ])
        shown = browser.wait_for(
            "[...document.querySelectorAll('#alerts li')].filter(li => li.dataset.alertname === 'AgentStalled' && "
            f"li.textContent.includes({json.dumps(HOSTILE)})).length > 0", 20, "the AgentStalled alert on the page")
        check("an alert shows up when an agent stalls", shown)
        check("a hostile id stays text", browser.evaluate(
            "document.querySelectorAll('img').length === 0 && document.querySelectorAll('#alerts b').length === 0 && window.__pwned === undefined"))
        if screenshots:
            time.sleep(1.5)
            browser.screenshot(os.path.join(screenshots, "live-page-jobs.png"))

        # The agents table sorts.
        browser.navigate(exporter.url("/?job=" + job))
        browser.wait_for("document.querySelectorAll('#agent-rows tr').length >= 20", 20, "the agents table")
        done = "[...document.querySelectorAll('#agent-rows tr')].map(tr => Number(tr.children[7].textContent.replace(/,/g, '')))"
        browser.evaluate("document.querySelector('#agents th[data-key=completed]').click()")
        descending = browser.evaluate(done)
        check("sorts by a column (descending first for numbers)", descending == sorted(descending, reverse=True) and len(set(descending)) > 1, str(descending[:6]))
        browser.evaluate("document.querySelector('#agents th[data-key=completed]').click()")
        ascending = browser.evaluate(done)
        check("a second click reverses", ascending == sorted(ascending), str(ascending[:6]))
        browser.evaluate("document.querySelector('#agents th[data-key=agent]').click()")
        ids = browser.evaluate("[...document.querySelectorAll('#agent-rows tr')].map(tr => tr.dataset.agent)")
        check("sorts by agent id", ids == sorted(ids), str(ids[:3]))
        browser.evaluate("(() => { const f = document.getElementById('filter'); f.value = 'agent-00'; f.dispatchEvent(new Event('input')); })()")
        filtered = browser.evaluate("[...document.querySelectorAll('#agent-rows tr')].map(tr => tr.dataset.agent)")
        check("filters", len(filtered) == 10 and all(a.startswith("agent-00") for a in filtered), str(len(filtered)))
        browser.evaluate("(() => { const f = document.getElementById('filter'); f.value = ''; f.dispatchEvent(new Event('input')); })()")
        if screenshots:
            time.sleep(1.5)
            browser.screenshot(os.path.join(screenshots, "live-page-job.png"))

        # Failures you can read: the job page lists the last failures and the dead-lettered items with
        # their error (a hostile error stays text), and the most common reason.
        now = time.time()
        exporter.post([
            {"type": "job_started", "job": "browser-failures", "total_items": 10, "ts": now},
            {"type": "item_failed", "job": "browser-failures", "agent": "w1", "item": "i-1", "error": "timeout after 31s", "retryable": True, "ts": now},
            {"type": "item_failed", "job": "browser-failures", "agent": "w1", "item": "i-1", "error": "timeout after 12s", "retryable": True, "ts": now + 0.1},
            {"type": "item_failed", "job": "browser-failures", "agent": "w2", "item": "i-2", "error": HOSTILE, "retryable": False, "ts": now + 0.2},
            {"type": "item_dead_lettered", "job": "browser-failures", "item": "i-1", "ts": now + 0.3},
        ])
        browser.navigate(exporter.url("/?job=browser-failures"))
        listed = browser.wait_for("document.querySelectorAll('#failure-rows tr').length === 3 && "
                                  "document.querySelectorAll('#dead-rows tr').length === 1", 20, "the failures on the job page")
        check("the job page lists the last failures and the dead-lettered items", listed)
        texts = browser.evaluate("[...document.querySelectorAll('#failure-rows tr')].map(tr => tr.children[3].textContent)")
        check("newest first, with the error as sent", texts == [HOSTILE, "timeout after 12s", "timeout after 31s"], str(texts))
        check("a dead-lettered item shows its last error",
              browser.evaluate("document.querySelector('#dead-rows tr').children[3].textContent") == "timeout after 12s")
        check("the most common reason is named",
              "timeout after Ns (2)" in browser.evaluate("document.getElementById('failure-reasons').textContent"))
        check("a hostile error stays text", browser.evaluate(
            "document.querySelectorAll('img').length === 0 && window.__pwned === undefined"))

        # A finished job's card says when it finished (its last item), how long it ran and its mean rate,
        # in the once-rendered page (?live=0): the state drawn once from the API, no stream held open.
        now = time.time()
        exporter.post([
            {"type": "job_started", "job": "browser-finished", "total_items": 3, "ts": now - 312},
            {"type": "item_completed", "job": "browser-finished", "agent": "w", "item": "i0", "ts": now - 300},
            {"type": "item_completed", "job": "browser-finished", "agent": "w", "item": "i1", "ts": now - 200},
            {"type": "item_completed", "job": "browser-finished", "agent": "w", "item": "i2", "ts": now - 100},
            {"type": "job_completed", "job": "browser-finished", "ts": now - 95},
            # Every item finished, no job_completed: nothing left to estimate.
            {"type": "job_started", "job": "browser-all-items", "total_items": 1, "ts": now - 60},
            {"type": "item_completed", "job": "browser-all-items", "agent": "w", "item": "i0", "ts": now - 20},
        ])
        browser.navigate(exporter.url("/?live=0"))
        check("the once-rendered page (?live=0) says when it is drawn",
              browser.wait_for("document.documentElement.dataset.ready === '1'", 20, "the snapshot")
              and browser.evaluate("document.getElementById('conn').textContent").startswith("snapshot of "))
        check("and holds no stream", browser.evaluate(
            "performance.getEntriesByType('resource').every(e => !e.name.includes('/api/v1/stream')) && "
            "document.querySelectorAll('.card').length >= 4"))
        stats = browser.evaluate(f"{CARD_STATS}('browser-finished')")
        ended = time.strftime("%H:%M:%S", time.localtime(now - 100))
        check("a finished card says when it finished", stats.get("Finished at", [None])[0] == ended, f"{stats.get('Finished at')} (ended {ended})")
        check("its duration and mean rate", stats.get("Duration", [None])[0] == "3m 32s" and stats.get("Mean rate", [None])[0] == "50.9/h", str(stats))
        check("and no ETC or recent throughput", not ({"ETC", "Throughput", "Finishes at"} & set(stats)), str(sorted(stats)))
        all_items = browser.evaluate(f"{CARD_STATS}('browser-all-items')")
        check("a running job with every item finished shows its last item, no ETC",
              all_items.get("ETC") == ["–", ""] and all_items.get("Last item at", [None])[0] == time.strftime("%H:%M:%S", time.localtime(now - 20)),
              str(all_items))
        # A running job's finish time lies inside its own band (both from the summary's instant).
        running = browser.evaluate(f"{CARD_STATS}('etl-nightly-run1')")
        finish, band = running["Finishes at"]
        check("a running job's finish lies inside its band", within_band(finish, band), f"{finish} in {band}")
        if screenshots:
            browser.screenshot(os.path.join(screenshots, "live-page-snapshot.png"))
        # The headless capture the page's users run: chromium's own --screenshot finishes on ?live=0.
        shot = os.path.join(folder, "snapshot.png")
        started = time.time()
        subprocess.run([cdp.find_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                        f"--user-data-dir={os.path.join(folder, 'chromium-cli')}", "--virtual-time-budget=8000",
                        "--window-size=1400,1000", f"--screenshot={shot}", exporter.url("/?live=0")],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
        check("chromium --headless --virtual-time-budget --screenshot of ?live=0 finishes",
              os.path.exists(shot) and os.path.getsize(shot) > 10_000, f"{time.time() - started:.1f} s")

        # POST to number on the page, at 1,000 agents of one job (the demo keeps running beside it).
        now = time.time()
        lines = [{"type": "job_started", "job": "browser-latency", "total_items": 1_000_000, "ts": now}]
        lines += [{"type": "agent_started", "job": "browser-latency", "agent": f"w-{i:04d}", "item": f"i-{i}", "ts": now}
                  for i in range(1000)]
        exporter.post(lines)
        browser.navigate(exporter.url("/?job=browser-latency"))
        browser.wait_for("liveState.agents.size === 1000 && document.querySelectorAll('#agent-rows tr').length === 100", 20,
                         "1,000 agents on the job page")
        times = browser.evaluate(f"{MEASURE}('/events', 'browser-latency', 'w-0007', 30)", timeout=120)
        got = [t for t in times if t is not None]
        check("every POST reached the page", len(got) == len(times), f"{len(got)}/{len(times)}")
        got.sort()
        print(f"     POST -> number on the page, 1,000 agents, {len(got)} rounds: median {statistics.median(got):.0f} ms, "
              f"p90 {got[int(len(got) * 0.9) - 1]:.0f} ms, max {got[-1]:.0f} ms", flush=True)

        # The page recovers after the exporter restarts.
        browser.navigate(exporter.url("/"))
        browser.wait_for("document.getElementById('conn').textContent === 'live' && document.querySelectorAll('.card').length >= 3", 20)
        before = browser.evaluate("liveState.instance")
        browser.evaluate("window.__sameDocument = true")
        exporter.stop()
        check("the page notices the exporter is gone", browser.wait_for("document.getElementById('conn').classList.contains('down')", 15))
        exporter.start()
        browser.wait_for(f"liveState.instance !== null && liveState.instance !== {json.dumps(before)} && "
                         "document.getElementById('conn').textContent === 'live'", 30, "the page to reconnect")
        cards = browser.wait_for("(() => { const jobs = [...document.querySelectorAll('.card')].map(c => c.dataset.job); "
                                 "return jobs.length === 3 && jobs; })()", 20, "the new process's jobs only")
        check("the page recovers after a restart, without a reload",
              browser.evaluate("window.__sameDocument === true") and "browser-stall" not in cards, str(cards))
        first = browser.evaluate(f"{CARD_FIELD}('{job}', 'finished')")
        browser.wait_for(f"{CARD_FIELD}('{job}', 'finished') !== {json.dumps(first)}", 15, "numbers to move again")
        check("and keeps updating", True)

        # Agents forgotten by --agents.retention leave the job page too.
        quiet = Exporter(binary, free_port(), config, ["--agents.retention", "3s"])
        try:
            quiet.start()
            now = time.time()
            quiet.post([{"type": "agent_started", "job": "browser-expire", "agent": name, "item": "i", "ts": now}
                        for name in ("stays", "goes")])
            browser.call("Page.addScriptToEvaluateOnNewDocument", {"source": "window.__pruneEvery = 500;"})
            browser.navigate(quiet.url("/?job=browser-expire"))
            browser.wait_for("liveState.agents.size === 2", 15, "both agents")
            deadline = time.time() + 20
            gone = False
            while time.time() < deadline and not gone:
                quiet.post([{"type": "agent_heartbeat", "job": "browser-expire", "agent": "stays"}])
                gone = browser.evaluate("liveState.agents.size === 1 && liveState.agents.has('stays') && "
                                        "[...document.querySelectorAll('#agent-rows tr')].map(tr => tr.dataset.agent).join() === 'stays'")
                time.sleep(0.5)
            check("an agent forgotten by retention leaves the job page", gone)
        finally:
            quiet.stop()
        print(f"browser: {passed} checks passed", flush=True)
    except Exception as error:
        print(f"browser test failed: {error}", flush=True)
        if exporter.process:
            exporter.log.seek(0)
            print(exporter.log.read().decode(errors="replace")[-3000:])
        sys.exit(1)
    finally:
        if browser:
            browser.close()
        exporter.stop()


if __name__ == "__main__":
    main()
