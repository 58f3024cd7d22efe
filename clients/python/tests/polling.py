"""Bounded waiting for a condition another thread or process makes true."""
from __future__ import annotations

import time
from typing import Callable


def wait_until(condition: Callable[[], bool], seconds: float, what: str = "the condition") -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"{what} not reached within {seconds} s"
        time.sleep(0.01)
