"""The background thread that POSTs batches of native NDJSON to the exporter's /events.

Every event carries an `id`, so a batch sent again after an answer that never arrived is not
counted twice (the exporter ignores an id it saw within `--events.dedup-window`). Answers:
2xx delivered (lines the exporter rejected are counted and logged, not sent again); 413 splits
the batch in halves; 408, 429, 5xx, 401, 403 and connection errors are retried with backoff
(or after `Retry-After`); any other 4xx is final for that batch.
"""
from __future__ import annotations

import http.client
import json
import logging
import random
import threading
import time
import urllib.parse
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from ._outbox import Outbox

log = logging.getLogger("progress_exporter_client")

RETRY_AFTER_CAP = 60.0       # seconds; a longer Retry-After is taken as this
MIN_RETRY_AFTER = 0.05       # seconds; `Retry-After: 0` does not make a busy loop
FIRST_BACKOFF = 0.1          # seconds, doubled after each failed attempt up to max_backoff
IDLE_RECONNECT = 2.0         # seconds; a connection idle this long is opened afresh


@dataclass
class Counters:
    sent: int = 0
    rejected: int = 0
    retries: int = 0
    unsent: int = 0


def events_url(url: str) -> urllib.parse.SplitResult:
    """The exporter's base URL (`http://host:9465`) or its `/events` URL."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL of an exporter: {url!r}")
    path = parts.path.rstrip("/")
    if not path.endswith("/events"):
        path += "/events"
    return parts._replace(path=path)


def retry_after_seconds(value: str | None) -> float | None:
    """`Retry-After` as seconds (a number of seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError):
            return None
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), RETRY_AFTER_CAP)


def is_retryable(status: int) -> bool:
    """Worth sending again: the exporter is busy, restarting or not durable, or the token may be
    fixed on its side. Any other 4xx would be refused again."""
    return status >= 500 or status in (401, 403, 408, 429)


class Sender(threading.Thread):
    def __init__(self, outbox: Outbox, url: str, token: str | None, *, flush_interval: float,
                 max_batch_events: int, max_batch_bytes: int, timeout: float,
                 max_backoff: float) -> None:
        super().__init__(name="progress-exporter-client", daemon=True)
        self._outbox = outbox
        self._url = events_url(url)
        self._target = self._url.path + (f"?{self._url.query}" if self._url.query else "")
        self._headers = {"Content-Type": "application/x-ndjson"}
        if token is not None:
            self._headers["Authorization"] = f"Bearer {token}"
        self._flush_interval = flush_interval
        self._max_batch_events = max_batch_events
        self._max_batch_bytes = max_batch_bytes
        self._timeout = timeout
        self._max_backoff = max_backoff
        self._connection: http.client.HTTPConnection | None = None
        self._last_used = 0.0
        self._failing_since: float | None = None
        self.abandon = threading.Event()  # set by close() once its time is up
        self.counters = Counters()
        self._counters_lock = threading.Lock()

    def run(self) -> None:
        while True:
            batch = self._outbox.take(self._max_batch_events, self._max_batch_bytes,
                                      self._flush_interval)
            if batch is None:
                break
            self._deliver(batch)
        self._disconnect()

    def _count(self, **changes: int) -> None:
        with self._counters_lock:
            for name, change in changes.items():
                setattr(self.counters, name, getattr(self.counters, name) + change)

    def _deliver(self, lines: list[bytes]) -> None:
        attempt = 0
        while not self.abandon.is_set():
            try:
                status, retry_after, body = self._post(b"".join(lines))
            except Exception as error:  # a connection error, or anything else: the thread lives on
                self._disconnect()
                self._note_failure(f"{type(error).__name__}: {error}", len(lines))
                wait = self._backoff(attempt)
            else:
                if 200 <= status < 300:
                    self._note_recovery()
                    self._count(sent=len(lines), rejected=self._rejected_in(body, lines))
                    self._outbox.settle(len(lines))
                    return
                if status == 413 and len(lines) > 1:
                    half = len(lines) // 2
                    self._deliver(lines[:half])
                    self._deliver(lines[half:])
                    return
                if not is_retryable(status):
                    log.error("progress-exporter refused %d events with %d: %s", len(lines), status,
                              body[:500].decode("utf-8", "replace"))
                    self._count(rejected=len(lines))
                    self._outbox.settle(len(lines))
                    return
                self._note_failure(f"answer {status}: {body[:200].decode('utf-8', 'replace')}",
                                   len(lines))
                wait = (max(retry_after, MIN_RETRY_AFTER) if retry_after is not None
                        else self._backoff(attempt))
            attempt += 1
            self._count(retries=1)
            self.abandon.wait(wait)
        self._count(unsent=len(lines))
        self._outbox.settle(len(lines))

    def _post(self, body: bytes) -> tuple[int, float | None, bytes]:
        now = time.monotonic()
        if self._connection is not None and now - self._last_used > IDLE_RECONNECT:
            self._disconnect()  # the exporter may have closed it (--web.connection-timeout)
        if self._connection is None:
            kind = (http.client.HTTPSConnection if self._url.scheme == "https"
                    else http.client.HTTPConnection)
            self._connection = kind(self._url.hostname, self._url.port, timeout=self._timeout)
        try:
            self._connection.request("POST", self._target, body=body, headers=self._headers)
        except (BrokenPipeError, ConnectionResetError):
            # The exporter answers a body over --web.max-body-bytes with 413 before reading it, and
            # closes: what it said is still there to read. If nothing is, getresponse() raises.
            pass
        response = self._connection.getresponse()
        answer = response.read()
        self._last_used = time.monotonic()
        if response.will_close:
            self._disconnect()
        return response.status, retry_after_seconds(response.getheader("Retry-After")), answer

    def _disconnect(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self._max_backoff, FIRST_BACKOFF * 2 ** min(attempt, 30))
        return random.uniform(ceiling / 2, ceiling)

    def _rejected_in(self, body: bytes, lines: list[bytes]) -> int:
        """The `rejected` count of a 202 answer, logging the exporter's reasons."""
        try:
            answer = json.loads(body)
            rejected = int(answer.get("rejected", 0))
        except (ValueError, TypeError, AttributeError):
            return 0
        if rejected:
            log.warning("progress-exporter rejected %d of %d events: %s", rejected, len(lines),
                        json.dumps(answer.get("rejections", []))[:1000])
        return rejected

    def _note_failure(self, reason: str, events: int) -> None:
        if self._failing_since is None:
            self._failing_since = time.monotonic()
            log.warning("progress-exporter at %s not reachable (%s); %d events kept and retried",
                        urllib.parse.urlunsplit(self._url), reason, events)

    def _note_recovery(self) -> None:
        if self._failing_since is not None:
            log.warning("progress-exporter reachable again after %.1f s",
                        time.monotonic() - self._failing_since)
            self._failing_since = None
