#!/usr/bin/env python3
"""Takes the README's screenshots of the live page in headless Chromium:

    python3 scripts/screenshots.py .build/debug/progress-exporter docs [SECONDS]

Runs the demo for SECONDS (default 60) so the burn-downs have a history, stalls one agent so an
alert shows, then writes DIR/live-page-jobs.png, DIR/live-page-job.png and DIR/live-page-snapshot.png
(the once-rendered page, /?live=0, with a short job that finished beside the demo's)."""
import importlib.util
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cdp  # noqa: E402

spec = importlib.util.spec_from_file_location("browser_test", os.path.join(os.path.dirname(os.path.abspath(__file__)), "browser-test.py"))
browser_test = importlib.util.module_from_spec(spec)
spec.loader.exec_module(browser_test)


def main():
    binary, folder = os.path.abspath(sys.argv[1]), sys.argv[2]
    seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 60
    config = os.path.join(tempfile.mkdtemp(prefix="pe-shots-"), "config.yml")
    with open(config, "w") as f:
        f.write(browser_test.CONFIG.replace('after: 2s', 'after: 20s').replace('"browser-.*"', '"etl-.*"'))
    exporter = browser_test.Exporter(binary, browser_test.free_port(), config)
    browser = None
    try:
        exporter.start()
        # A short job that starts and finishes beside the demo, for the finished card.
        started = time.time()
        exporter.post([{"type": "job_started", "job": "backfill-2026-11", "total_items": 20, "ts": started}])
        for i in range(20):
            time.sleep(max(0, min(seconds - 25, 30)) / 20)
            exporter.post([{"type": "item_completed", "job": "backfill-2026-11", "item": f"i{i}", "ts": time.time()}])
        exporter.post([{"type": "job_completed", "job": "backfill-2026-11", "ts": time.time()}])
        time.sleep(max(0, seconds - 25 - (time.time() - started)))
        now = time.time()
        exporter.post([{"type": "agent_started", "job": "etl-nightly-run1", "agent": "agent-stuck", "item": "item-4711", "ts": now}])
        time.sleep(25)
        browser = cdp.Browser(width=1400, height=900)
        browser.navigate(exporter.url("/"))
        browser.wait_for("document.querySelectorAll('.card').length >= 3 && "
                         "[...liveState.histories.values()].length >= 3", 20)
        time.sleep(2)
        browser.screenshot(os.path.join(folder, "live-page-jobs.png"))
        browser.navigate(exporter.url("/?job=etl-nightly-run1"))
        browser.wait_for("document.querySelectorAll('#agent-rows tr').length >= 20", 20)
        for _ in range(2):  # oldest progress first
            browser.evaluate("document.querySelector('#agents th[data-key=last_progress_timestamp]').click()")
        time.sleep(2)
        browser.screenshot(os.path.join(folder, "live-page-job.png"))
        browser.navigate(exporter.url("/?live=0"))
        browser.wait_for("document.documentElement.dataset.ready === '1'", 20)
        browser.screenshot(os.path.join(folder, "live-page-snapshot.png"))
    finally:
        if browser:
            browser.close()
        exporter.stop()


if __name__ == "__main__":
    main()
