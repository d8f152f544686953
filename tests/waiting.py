"""One way for a test to wait for something another process does (a worker, beat, a server).

    wait_until(lambda: EmailQueue.objects.filter(status="sent").count() == 3, what="three sent emails")

The condition is polled until it returns a truthy value, which is returned; after ``timeout``
seconds the test fails with ``what`` in the message (a callable is called then, so the message can
carry a live count or a log's tail). ``check`` runs before each poll and may raise to stop early
(for example when the process being waited for has exited).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class WaitTimeout(AssertionError):
    """The condition never held within the timeout."""


def wait_until(
    condition: Callable[[], T],
    *,
    timeout: float = 30,
    interval: float = 0.2,
    what: str | Callable[[], str] = "the condition",
    check: Callable[[], None] | None = None,
) -> T:
    deadline = time.monotonic() + timeout
    while True:
        if check is not None:
            check()
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise WaitTimeout(f"timed out after {timeout:g}s waiting for {what() if callable(what) else what}")
        time.sleep(interval)
