"""An exception in an item becomes item_failed with its message, and is raised again."""
from __future__ import annotations

import pytest

from progress_exporter_client import Tracker
from proxy import RecordingProxy


def test_an_exception_is_sent_with_its_message_and_raised_again(start_exporter):
    exporter = start_exporter()
    with RecordingProxy(exporter.url) as proxy:
        with Tracker(proxy.url) as tracker:
            job = tracker.job("failing", total_items=3)
            with pytest.raises(OSError, match="disk full on /data"):
                with job.item("worker-3", "part-7", retryable=False):
                    raise OSError("disk full on /data")
            with pytest.raises(KeyError):
                with job.item("worker-4", "part-8"):
                    raise KeyError("part-8")
            with pytest.raises(TimeoutError):
                with job.item("worker-5", "part-9"):
                    raise TimeoutError()
            assert tracker.flush(30)
            stats = tracker.stats()
        failed = [event for event in proxy.events() if event["type"] == "item_failed"]

    assert [(e["agent"], e["item"], e["error"]) for e in failed] == [
        ("worker-3", "part-7", "disk full on /data"),
        ("worker-4", "part-8", "'part-8'"),          # str() of a KeyError
        ("worker-5", "part-9", "TimeoutError"),      # no message: the class name
    ]
    assert failed[0]["retryable"] is False and "retryable" not in failed[1]
    assert stats.rejected == 0
    state = exporter.job("failing")
    assert state["failed"] == 3
    assert state["finished"] == 1  # only the failure marked not retryable finishes its item
    agents = exporter.agents("failing")
    assert agents["worker-3"]["state"] == "failed"  # a final failure; the others may be retried
    assert [agents[a]["failed"] for a in ("worker-3", "worker-4", "worker-5")] == [1, 1, 1]


def test_a_long_message_is_cut_so_the_event_is_not_refused(start_exporter):
    exporter = start_exporter()  # lines of at most 1 MiB
    with RecordingProxy(exporter.url) as proxy:
        with Tracker(proxy.url) as tracker:
            job = tracker.job("long-error")
            with pytest.raises(ValueError):
                with job.item("worker", "item"):
                    raise ValueError("é" * 1_000_000)  # 2 MB of UTF-8
            assert tracker.flush(30)
            assert tracker.stats().rejected == 0
        (failed,) = [event for event in proxy.events() if event["type"] == "item_failed"]
    assert len(failed["error"]) == 4096 and failed["error"].endswith("…")
    assert exporter.job("long-error")["failed"] == 1


def test_a_job_fails_with_its_error(start_exporter):
    exporter = start_exporter()
    with RecordingProxy(exporter.url) as proxy:
        with Tracker(proxy.url) as tracker:
            tracker.job("given-up").fail("quota exceeded")
        (event,) = [event for event in proxy.events() if event["type"] == "job_failed"]
    assert event["error"] == "quota exceeded"
    assert exporter.job("given-up")["status"] == "failed"
