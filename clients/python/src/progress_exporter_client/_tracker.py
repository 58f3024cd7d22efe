"""Tracker: the connection to one exporter, shared by every job and thread of a process."""
from __future__ import annotations

import atexit
import itertools
import json
import logging
import os
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ._job import Job
from ._outbox import Outbox
from ._sender import Sender

log = logging.getLogger("progress_exporter_client")

DROP_LOG_INTERVAL = 10.0  # seconds between warnings about dropped events

# Held until closed, so a tracker nobody refers to any more is still flushed at the exit.
_open_trackers: set[Tracker] = set()


@dataclass(frozen=True)
class Stats:
    """What became of the events so far (see docs/python-client.md)."""

    sent: int        # delivered: the exporter answered 2xx (rejected lines included)
    rejected: int    # refused by the exporter: lines its 202 counted as rejected, or a final 4xx
    dropped: int     # never queued: the queue was full, or the tracker closed
    unsent: int      # given up when close() ran out of time
    retries: int     # attempts that failed and were tried again
    queued: int      # waiting or being sent now


class Tracker:
    """Sends progress events to a progress-exporter from a background thread.

    `url` is the exporter's base URL (`http://host:9465`) or its `/events` URL; `token` the bearer
    token of `--web.events-bearer-token-file`. Calls never wait on the network: events are queued
    (at most `max_queue_events`; beyond that they are dropped and counted) and sent in batches
    within `flush_interval` seconds. `close()` (the end of a `with` block, or the process's exit)
    sends what is queued, waiting at most `close_timeout` seconds.
    """

    def __init__(self, url: str, token: str | None = None, *, flush_interval: float = 0.1,
                 max_batch_events: int = 1000, max_batch_bytes: int = 1 << 20,
                 max_queue_events: int = 100_000, timeout: float = 10.0,
                 close_timeout: float = 5.0, max_backoff: float = 5.0) -> None:
        if token is not None and (not token or any(c.isspace() for c in token)):
            raise ValueError("token must be non-empty and without spaces")
        self._capacity = max_queue_events
        self._sender_options = dict(url=url, token=token, flush_interval=flush_interval,
                                    max_batch_events=max_batch_events,
                                    max_batch_bytes=max_batch_bytes, timeout=timeout,
                                    max_backoff=max_backoff)
        self._close_timeout = close_timeout
        self._encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"),
                                         default=_json_value)
        self._close_lock = threading.Lock()
        self._closed = False
        self._last_drop_log = float("-inf")
        self._start()
        _open_trackers.add(self)

    def _start(self) -> None:
        """A fresh queue, sender thread and id sequence: at the start, and in a forked child."""
        self._outbox = Outbox(self._capacity)
        self._sender = Sender(self._outbox, **self._sender_options)
        # Ids unique across processes (64 random bits) and cheap within one (a counter).
        self._id_prefix = secrets.token_hex(8) + "-"
        self._ids = itertools.count()
        self._sender.start()

    def job(self, name: str, total_items: int | None = None, total_work: float | None = None,
            deadline: float | datetime | None = None) -> Job:
        """Starts the job `name`: sends `job_started` and returns the Job."""
        if not isinstance(name, str) or not name:
            raise ValueError("a job's name must be a non-empty string")
        if isinstance(deadline, datetime):
            deadline = deadline.timestamp()
        job = Job(self, name)
        job._emit("job_started", total_items=total_items, total_work=total_work, deadline=deadline)
        return job

    def _send(self, event: dict[str, Any]) -> None:
        """Queues one event (None fields left out) with its `ts` and `id`; never waits."""
        event = {key: value for key, value in event.items() if value is not None}
        event["ts"] = round(time.time(), 6)
        event["id"] = f"{self._id_prefix}{next(self._ids)}"
        line = self._encoder.encode(event).encode("utf-8") + b"\n"
        if not self._outbox.put(line):
            self._log_drop()

    def _log_drop(self) -> None:
        now = time.monotonic()
        if now - self._last_drop_log >= DROP_LOG_INTERVAL:
            self._last_drop_log = now
            log.warning("progress-exporter client dropped events (%d so far): %s",
                        self._outbox.dropped,
                        "the tracker is closed" if self._closed else "the queue is full")

    def flush(self, timeout: float | None = None) -> bool:
        """Waits until every event queued before the call is sent (or refused); False if
        `timeout` seconds passed first."""
        return self._outbox.wait_settled(timeout)

    def close(self, timeout: float | None = None) -> bool:
        """Sends what is queued, waiting at most `timeout` seconds (default `close_timeout`), then
        stops the sender; what is left is counted as unsent. True if everything was sent.
        Events after close() are dropped. Calling it again does nothing."""
        with self._close_lock:
            if self._closed:
                return self._outbox.held == 0 and self._sender.counters.unsent == 0
            self._closed = True
        timeout = self._close_timeout if timeout is None else timeout
        self._outbox.close()
        self._sender.join(timeout)
        if self._sender.is_alive():
            # The sender stops retrying and counts the rest as unsent; a request in flight ends
            # by its own `timeout`, and a daemon thread does not hold up the process's exit.
            self._sender.abandon.set()
            self._sender.join(0.1)
        _open_trackers.discard(self)
        left = self._outbox.held
        if left or self._sender.counters.unsent:
            log.warning("progress-exporter client gave up %d events after %.1f s",
                        left + self._sender.counters.unsent, timeout)
            return False
        return True

    def stats(self) -> Stats:
        counters = self._sender.counters
        return Stats(sent=counters.sent, rejected=counters.rejected, dropped=self._outbox.dropped,
                     unsent=counters.unsent, retries=counters.retries, queued=self._outbox.held)

    def __enter__(self) -> Tracker:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _json_value(value: Any) -> Any:
    """Numbers of other libraries (numpy's, Decimal) as JSON numbers; anything else as its str."""
    if hasattr(value, "__index__"):
        return value.__index__()
    if hasattr(value, "__float__"):
        return float(value)
    return str(value)


def _restart_in_forked_child() -> None:
    """A forked child (multiprocessing's workers) has no sender thread, and would repeat its
    parent's ids: each open tracker starts afresh there. What the parent had queued stays the
    parent's to send."""
    for tracker in list(_open_trackers):
        tracker._close_lock = threading.Lock()
        tracker._start()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_restart_in_forked_child)


@atexit.register
def _close_open_trackers() -> None:
    """The process's exit sends what is queued, each tracker within its `close_timeout`."""
    for tracker in list(_open_trackers):
        tracker.close()
