"""A batch whose answer is lost is sent again, and the exporter counts it once (its ids); answers
that ask for a retry or a smaller body are followed."""
from __future__ import annotations

from exporter import get_json
from polling import wait_until
from progress_exporter_client import Tracker
from proxy import RecordingProxy


def test_a_batch_sent_again_is_not_counted_twice(start_exporter):
    exporter = start_exporter()
    with RecordingProxy(exporter.url, lose_answers=2) as proxy:
        with Tracker(proxy.url, max_backoff=0.2) as tracker:
            job = tracker.job("resent", total_items=50)
            for n in range(50):
                with job.item("worker", f"item-{n}"):
                    pass
            assert tracker.flush(30)
            stats = tracker.stats()
        assert len(proxy.bodies) >= 3
        assert proxy.bodies[0] == proxy.bodies[1] == proxy.bodies[2]
    assert stats.retries >= 2
    assert exporter.job("resent")["completed"] == 50
    assert exporter.job("resent")["finished"] == 50


def test_every_event_has_a_distinct_id(start_exporter):
    exporter = start_exporter()
    with RecordingProxy(exporter.url) as proxy:
        with Tracker(proxy.url) as tracker:
            job = tracker.job("ids")
            for n in range(100):
                job.heartbeat(f"worker-{n}")
        ids = [event["id"] for event in proxy.events()]
    assert len(ids) == 101 and len(set(ids)) == 101


def test_a_body_too_large_is_split(start_exporter):
    exporter = start_exporter("--web.max-body-bytes", "4096")
    with Tracker(exporter.url) as tracker:
        job = tracker.job("split", total_items=300)
        for n in range(300):
            with job.item("worker", f"item-{n}"):
                pass
        assert tracker.flush(30)
        stats = tracker.stats()
    assert stats.sent == 601 and stats.rejected == 0
    assert exporter.job("split")["completed"] == 300


def test_a_body_refused_before_it_is_sent_whole_is_split(start_exporter):
    # 8 MB: more than the sockets buffer, so the exporter's 413 arrives while the body is being
    # sent, and the connection is closed under it.
    exporter = start_exporter("--web.max-body-bytes", "65536")
    with Tracker(exporter.url, max_batch_events=10_000, max_batch_bytes=16 << 20) as tracker:
        job = tracker.job("split-early")
        for n in range(4000):
            job.dead_letter(f"item-{n}", "e" * 2000)
        assert tracker.flush(60)
        stats = tracker.stats()
    assert stats.sent == 4001 and stats.rejected == 0
    assert exporter.job("split-early")["dead_lettered"] == 4000


def test_an_event_too_large_for_any_body_is_rejected_and_counted(start_exporter):
    exporter = start_exporter("--web.max-body-bytes", "4096")
    with Tracker(exporter.url) as tracker:
        job = tracker.job("huge")
        job.dead_letter("item", "x" * 5000)
        job.heartbeat("worker")
        assert tracker.flush(30)
        stats = tracker.stats()
    assert stats.rejected == 1 and stats.sent == 2  # job_started and the heartbeat


def test_the_bearer_token_is_sent(start_exporter, tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text("s3cret-token\n")
    exporter = start_exporter("--web.events-bearer-token-file", str(token_file))
    with Tracker(exporter.url, token="s3cret-token") as tracker:
        tracker.job("with-token", total_items=1).complete()
        assert tracker.flush(30)
    assert exporter.job("with-token")["status"] == "completed"

    with Tracker(exporter.url, token="wrong", max_backoff=0.1) as tracker:
        tracker.job("wrong-token")
        assert not tracker.flush(1.0)  # 401 is retried: the exporter's token may be fixed
        assert tracker.stats().retries > 0
        assert not tracker.close(0.2)
    wait_until(lambda: tracker.stats().unsent == 1, 10, "the event counted as unsent")
    jobs = get_json(f"{exporter.url}/api/v1/jobs")["jobs"]
    assert "wrong-token" not in {job["job"] for job in jobs}
