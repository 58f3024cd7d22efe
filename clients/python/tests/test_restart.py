"""Counts stay exact while the exporter is killed and restarted mid-stream: nothing the client
queued is lost (it retries until the exporter is back, and the journal keeps what was answered),
and nothing is counted twice (every event's id)."""
from __future__ import annotations

import signal
import threading
import time

from polling import wait_until
from progress_exporter_client import Tracker

ITEMS = 3000
FAIL_EVERY = 10  # every 10th item fails for good


def test_counts_exact_across_a_kill_and_restart(start_exporter, tmp_path):
    exporter = start_exporter("--storage.path", str(tmp_path / "state"), "--storage.journal")
    with Tracker(exporter.url, max_backoff=0.3) as tracker:
        job = tracker.job("restarted", total_items=ITEMS)
        killed = threading.Event()

        def run_items() -> None:
            for n in range(ITEMS):
                if n == ITEMS // 2:
                    killed.wait(60)  # the second half is produced while the exporter is gone
                try:
                    with job.item(f"worker-{n % 4}", f"item-{n}", retryable=False):
                        if n % FAIL_EVERY == 0:
                            raise RuntimeError(f"item {n} failed")
                except RuntimeError:
                    pass
                if n % 100 == 99:
                    time.sleep(0.02)  # a stream spread over time, so the kill lands inside it

        producer = threading.Thread(target=run_items)
        producer.start()
        wait_until(lambda: tracker.stats().sent > 500, 30, "500 events sent")
        exporter.stop(signal.SIGKILL)  # batches may be in flight: sent, applied, not answered
        killed.set()
        time.sleep(0.5)
        assert tracker.stats().queued > 0
        exporter.start()
        producer.join(60)
        assert not producer.is_alive()
        assert tracker.flush(60)
        stats = tracker.stats()

    job_state = exporter.job("restarted")
    failures = len(range(0, ITEMS, FAIL_EVERY))
    assert job_state["planned"] == ITEMS
    assert job_state["completed"] == ITEMS - failures
    assert job_state["failed"] == failures
    assert job_state["finished"] == ITEMS
    assert stats.retries > 0
    assert stats.sent == 1 + 2 * ITEMS and stats.rejected == 0 and stats.dropped == 0


def test_counts_exact_across_a_clean_restart(start_exporter, tmp_path):
    exporter = start_exporter("--storage.path", str(tmp_path / "state"))
    with Tracker(exporter.url, max_backoff=0.3) as tracker:
        job = tracker.job("restarted", total_items=20)
        for n in range(10):
            with job.item("worker", f"item-{n}"):
                pass
        assert tracker.flush(30)
        exporter.stop()  # SIGTERM: a snapshot on the way out
        for n in range(10, 20):
            with job.item("worker", f"item-{n}"):
                pass
        assert not tracker.flush(0.3)
        exporter.start()
        assert tracker.flush(30)
    assert exporter.job("restarted")["completed"] == 20
    assert exporter.job("restarted")["finished"] == 20
