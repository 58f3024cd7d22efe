"""Nothing blocks the caller while the exporter is down or frozen; the queue is bounded and what
it drops is counted; closing, and the process's exit, wait a bounded time."""
from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from pathlib import Path

from exporter import free_port
from progress_exporter_client import Tracker

SOURCE = str(Path(__file__).resolve().parents[1] / "src")
CALLS_BOUND = 20.0  # only bounds the test: calls that waited on the network would never end here


def run_calls(calls) -> threading.Thread:
    thread = threading.Thread(target=calls, daemon=True)
    thread.start()
    return thread


def test_a_full_queue_drops_new_events_and_counts_them():
    tracker = Tracker(f"http://127.0.0.1:{free_port()}", max_queue_events=100, max_backoff=0.1)
    job = tracker.job("nowhere")            # 1 event
    for n in range(249):                    # + 249 = 250 events for a queue of 100
        job.heartbeat(f"worker-{n}")
    stats = tracker.stats()
    assert (stats.queued, stats.dropped, stats.sent) == (100, 150, 0)
    assert not tracker.flush(0.2)
    assert not tracker.close(0.3)
    job.heartbeat("late")                   # after close: dropped too
    assert tracker.stats().dropped == 151


def test_calls_do_not_wait_for_a_frozen_exporter(start_exporter):
    exporter = start_exporter()
    exporter.freeze()  # the kernel accepts the connection; nobody answers
    tracker = Tracker(exporter.url, timeout=60)

    def calls() -> None:
        job = tracker.job("frozen", total_items=1000)
        for n in range(1000):
            with job.item("worker", f"item-{n}"):
                pass

    thread = run_calls(calls)
    thread.join(CALLS_BOUND)
    assert not thread.is_alive(), "calls waited on the frozen exporter"
    assert not tracker.flush(0.3)
    assert not tracker.close(0.3)
    exporter.thaw()


def test_the_exit_sends_what_is_queued(start_exporter):
    exporter = start_exporter()
    script = textwrap.dedent(f"""
        from progress_exporter_client import Tracker
        job = Tracker({exporter.url!r}, flush_interval=60).job("at-exit", total_items=100)
        for n in range(100):
            with job.item("worker", f"item-{{n}}"):
                pass
        # no close(): the exit flushes
    """)
    subprocess.run([sys.executable, "-c", script], env={"PYTHONPATH": SOURCE}, check=True,
                   timeout=60)
    assert exporter.job("at-exit")["completed"] == 100


def test_the_exit_gives_up_in_bounded_time_when_the_exporter_is_down():
    script = textwrap.dedent(f"""
        from progress_exporter_client import Tracker
        job = Tracker("http://127.0.0.1:{free_port()}", close_timeout=1).job("at-exit")
        job.heartbeat("worker")
    """)
    finished = subprocess.run([sys.executable, "-c", script], env={"PYTHONPATH": SOURCE},
                              capture_output=True, text=True, timeout=60)
    assert finished.returncode == 0
    assert "gave up 2 events" in finished.stderr
