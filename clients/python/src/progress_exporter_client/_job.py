"""A job and its work items: the calls a job runner makes, turned into native events."""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, TypeVar

if TYPE_CHECKING:
    from ._tracker import Tracker

T = TypeVar("T")

MAX_ERROR_CHARS = 4096  # longer messages are cut, so the line is never refused as too long


def error_message(error: BaseException) -> str:
    """An exception's message, or its class name when it has none."""
    message = str(error) or type(error).__name__
    return message if len(message) <= MAX_ERROR_CHARS else message[:MAX_ERROR_CHARS - 1] + "…"


def default_item_id(element: object, position: int) -> str:
    """A string or integer element names itself; anything else is named by its 0-based position."""
    if isinstance(element, str):
        return element
    if isinstance(element, int) and not isinstance(element, bool):
        return str(element)
    return str(position)


class Job:
    """One job on the exporter (`tracker.job(...)` makes it). Every method queues events and
    returns at once."""

    def __init__(self, tracker: Tracker, name: str) -> None:
        self._tracker = tracker
        self.name = name

    def _emit(self, type: str, **fields: Any) -> None:
        self._tracker._send({"type": type, "job": self.name, **fields})

    def item(self, agent: str, item: str, *, total_steps: int | None = None,
             work: float | None = None, retryable: bool | None = None) -> Item:
        """A context manager for one work item processed by `agent`: `agent_started` on entry,
        `item_completed` (with its duration) on a normal exit, `item_failed` with the exception's
        message if one escapes; the exception is raised again."""
        return Item(self, agent, item, total_steps=total_steps, work=work, retryable=retryable)

    def track(self, iterable: Iterable[T], agent: str, *,
              key: Callable[[T], str] | None = None) -> Iterator[T]:
        """Yields the elements of `iterable`, each as one item of `agent`: started when it is
        yielded, completed when the next one is asked for or the iteration ends. The item's id is
        `key(element)`, else the element if it is a str or int, else its position. A loop left
        early (break, or an exception in its body) reports nothing for the element it was on:
        wrap the body in `job.item(...)` to have failures reported."""
        for position, element in enumerate(iterable):
            item_id = str(key(element)) if key is not None else default_item_id(element, position)
            item = Item(self, agent, item_id)
            item.__enter__()
            yield element
            item.__exit__(None, None, None)

    def progress(self, agent: str, steps_completed: int, total_steps: int, *,
                 step: str | None = None, work: float | None = None) -> None:
        """`agent_progress`: how far `agent` is within its current item."""
        self._emit("agent_progress", agent=agent, steps_completed=steps_completed,
                   total_steps=total_steps, step=step, work=work)

    def heartbeat(self, agent: str) -> None:
        """`agent_heartbeat`: `agent` is alive (not progress)."""
        self._emit("agent_heartbeat", agent=agent)

    def add_items(self, count: int, *, work: float | None = None) -> None:
        """`job_items_added`: `count` more items (and `work` more work) were found."""
        self._emit("job_items_added", count=count, work=work)

    def dead_letter(self, item: str, error: str) -> None:
        """`item_dead_lettered`: `item` is given up."""
        self._emit("item_dead_lettered", item=item, error=error)

    def complete(self) -> None:
        """`job_completed`."""
        self._emit("job_completed")

    def fail(self, error: str | None = None) -> None:
        """`job_failed`, with `error` if given."""
        self._emit("job_failed", error=error)

    def cancel(self, error: str | None = None) -> None:
        """`job_cancelled`, with `error` if given."""
        self._emit("job_cancelled", error=error)


class Item:
    """One work item in progress (`job.item(...)` makes it; use it with `with`)."""

    def __init__(self, job: Job, agent: str, item: str, *, total_steps: int | None = None,
                 work: float | None = None, retryable: bool | None = None) -> None:
        self.job = job
        self.agent = agent
        self.item = item
        self.total_steps = total_steps
        self.work = work            # sent with item_completed / item_failed; may be set inside
        self.retryable = retryable  # sent with item_failed; absent means it may be retried
        self._started = 0.0

    def progress(self, steps_completed: int, total_steps: int | None = None, *,
                 step: str | None = None) -> None:
        """`agent_progress` for this item (`total_steps` defaults to the one given to item())."""
        total = total_steps if total_steps is not None else self.total_steps
        if total is None:
            raise ValueError("total_steps is needed, here or in job.item()")
        self.job.progress(self.agent, steps_completed, total, step=step)

    def __enter__(self) -> Item:
        self.job._emit("agent_started", agent=self.agent, item=self.item,
                       total_steps=self.total_steps)
        self._started = time.monotonic()
        return self

    def __exit__(self, exc_type: object, error: BaseException | None, traceback: object) -> bool:
        if error is None:
            self.job._emit("item_completed", agent=self.agent, item=self.item,
                           duration_seconds=round(time.monotonic() - self._started, 6),
                           work=self.work)
        else:
            self.job._emit("item_failed", agent=self.agent, item=self.item,
                           error=error_message(error), retryable=self.retryable, work=self.work)
        return False
