"""What each call of a job sends, as the real exporter counts it."""
from __future__ import annotations

from progress_exporter_client import Tracker
from proxy import RecordingProxy


def test_track_completes_each_element_when_the_next_is_asked_for(start_exporter):
    exporter = start_exporter()
    with Tracker(exporter.url) as tracker:
        job = tracker.job("tracked", total_items=6)
        seen = [part for part in job.track(["a", "b", "c"], agent="worker-1")]
        for part in job.track([10, 11, 12], agent="worker-2"):
            if part == 11:
                break  # left early: 11 is neither completed nor failed
        job.complete()
        assert tracker.flush(30)
    assert seen == ["a", "b", "c"]
    state = exporter.job("tracked")
    assert (state["completed"], state["failed"], state["finished"]) == (4, 0, 4)
    assert state["status"] == "completed"
    agents = exporter.agents("tracked")
    assert agents["worker-1"]["completed"] == 3 and agents["worker-2"]["completed"] == 1


def test_track_names_items(start_exporter):
    exporter = start_exporter()
    with RecordingProxy(exporter.url) as proxy:
        with Tracker(proxy.url) as tracker:
            job = tracker.job("named")
            list(job.track([{"path": "x"}, {"path": "y"}], agent="w"))
            list(job.track([{"path": "z"}], agent="w", key=lambda element: element["path"]))
        items = [e["item"] for e in proxy.events() if e["type"] == "item_completed"]
    assert items == ["0", "1", "z"]


def test_progress_heartbeat_and_items_added(start_exporter):
    exporter = start_exporter()
    with RecordingProxy(exporter.url) as proxy:
        with Tracker(proxy.url) as tracker:
            job = tracker.job("steps", total_items=2)
            job.add_items(3)
            with job.item("worker", "part-1", total_steps=4) as item:
                item.progress(1, step="extract")
                job.progress("worker", 2, 4, step="transform")
                assert tracker.flush(30)
                agent = exporter.agents("steps")["worker"]
                assert agent["progress_ratio"] == 0.5 and agent["step"] == "transform"
            job.heartbeat("idle-worker")
            job.dead_letter("part-9", "bad input")
            assert tracker.flush(30)
        types = [e["type"] for e in proxy.events()]
    assert types == ["job_started", "job_items_added", "agent_started", "agent_progress",
                     "agent_progress", "item_completed", "agent_heartbeat", "item_dead_lettered"]
    state = exporter.job("steps")
    assert state["planned"] == 5 and state["completed"] == 1 and state["dead_lettered"] == 1
    assert "idle-worker" in exporter.agents("steps")


def test_events_carry_their_time_and_work(start_exporter):
    exporter = start_exporter()
    with RecordingProxy(exporter.url) as proxy:
        with Tracker(proxy.url) as tracker:
            job = tracker.job("work", total_items=1, total_work=1000)
            with job.item("worker", "part-1") as item:
                item.work = 250
        events = proxy.events()
    assert events[0]["total_work"] == 1000 and events[-1]["work"] == 250
    assert all(isinstance(e["ts"], float) for e in events)
    assert events[0]["ts"] <= events[1]["ts"] <= events[2]["ts"]
    assert exporter.job("work")["completed"] == 1
