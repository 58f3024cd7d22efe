"""The bounded queue between the callers' threads and the sender thread.

Callers put encoded event lines; the sender takes them in batches and settles each batch once
it is delivered, refused or given up. Counting what is held (queued and in flight) bounds
memory whatever the exporter does, and counting what is settled lets `flush` wait for exactly
the events put before it.
"""
from __future__ import annotations

import threading
import time
from collections import deque


class Outbox:
    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("max_queue_events must be at least 1")
        self._capacity = capacity
        lock = threading.Lock()
        self._events_waiting = threading.Condition(lock)
        self._settled_changed = threading.Condition(lock)
        self._lines: deque[bytes] = deque()
        self._queued_bytes = 0
        self._held = 0        # queued + taken by the sender and not settled yet
        self._put = 0         # events accepted since the start
        self._settled = 0     # accepted events delivered, refused or given up
        self._oldest_at = 0.0  # monotonic time the oldest queued event waits since
        self._hurry = 0       # flushes waiting: send without waiting out the interval
        self._closed = False
        self.dropped = 0

    def put(self, line: bytes) -> bool:
        """Queues one event line; False (counted as dropped) when full or closed. Never waits."""
        with self._events_waiting:
            if self._held >= self._capacity or self._closed:
                self.dropped += 1
                return False
            if not self._lines:
                self._oldest_at = time.monotonic()
                self._events_waiting.notify()
            self._lines.append(line)
            self._queued_bytes += len(line)
            self._held += 1
            self._put += 1
            return True

    def take(self, max_events: int, max_bytes: int, interval: float) -> list[bytes] | None:
        """The next batch, once it is full, its oldest event waited `interval`, a flush asks, or
        the outbox closes; None once closed and empty."""
        with self._events_waiting:
            while True:
                if self._lines:
                    wait = self._oldest_at + interval - time.monotonic()
                    full = len(self._lines) >= max_events or self._queued_bytes >= max_bytes
                    if wait <= 0 or full or self._hurry or self._closed:
                        break
                    self._events_waiting.wait(wait)
                elif self._closed:
                    return None
                else:
                    self._events_waiting.wait()
            batch: list[bytes] = []
            size = 0
            while self._lines and len(batch) < max_events:
                line = self._lines[0]
                if batch and size + len(line) > max_bytes:
                    break
                batch.append(self._lines.popleft())
                size += len(line)
            self._queued_bytes -= size
            # What is left waited at least as long as this batch's sending will take: no more.
            self._oldest_at = float("-inf")
            return batch

    def settle(self, count: int) -> None:
        with self._events_waiting:
            self._held -= count
            self._settled += count
            self._settled_changed.notify_all()

    def wait_settled(self, timeout: float | None) -> bool:
        """Waits until every event put before the call is settled; False if `timeout` passed."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._events_waiting:
            target = self._put
            self._hurry += 1
            self._events_waiting.notify()
            try:
                while self._settled < target:
                    left = None if deadline is None else deadline - time.monotonic()
                    if left is not None and left <= 0:
                        return False
                    self._settled_changed.wait(left)
                return True
            finally:
                self._hurry -= 1

    def close(self) -> None:
        """Refuses further events; the sender drains what is queued without waiting."""
        with self._events_waiting:
            self._closed = True
            self._events_waiting.notify()

    @property
    def held(self) -> int:
        with self._events_waiting:
            return self._held
