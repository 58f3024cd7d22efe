"""A tracker made before a fork (multiprocessing's workers) works in the child: the child sends
its own events, with ids of its own, so the exporter counts every event of both."""
from __future__ import annotations

import os

from progress_exporter_client import Tracker


def test_a_forked_child_sends_its_own_events(start_exporter):
    exporter = start_exporter()
    with Tracker(exporter.url) as tracker:
        job = tracker.job("forked", total_items=40)
        for n in range(10):
            with job.item("parent", f"parent-{n}"):
                pass
        child = os.fork()
        if child == 0:
            delivered = False
            try:
                for n in range(20):
                    with job.item("child", f"child-{n}"):
                        pass
                delivered = tracker.flush(30)
            finally:
                os._exit(0 if delivered else 1)  # as a pool's worker ends: no atexit
        for n in range(10, 20):
            with job.item("parent", f"parent-{n}"):
                pass
        _, status = os.waitpid(child, 0)
        assert os.waitstatus_to_exitcode(status) == 0, "the child's events were not delivered"
        assert tracker.flush(30)
    state = exporter.job("forked")
    assert state["completed"] == 40
    agents = exporter.agents("forked")
    assert agents["parent"]["completed"] == 20 and agents["child"]["completed"] == 20
