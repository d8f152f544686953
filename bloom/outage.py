"""Per-process memory of a service that just failed (docs/adr/0008).

Redis may vanish. One failed connect costs a caller the short connect timeout; a gate makes
every later call within BLOOM_REDIS_OUTAGE_SECONDS skip the service at once, so a request
that would touch Redis five times pays that timeout once. The first call after the pause
tries again: the process recovers by itself when the service returns, with nothing to
restart. Setting the pause to 0 (the test settings do) tries every call.
"""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings

logger = logging.getLogger(__name__)


class OutageGate:
    def __init__(self, name: str) -> None:
        self.name = name
        self._retry_at = 0.0
        self._down = False
        self._lock = threading.Lock()

    def open(self) -> bool:
        """True when the service may be tried now."""
        return time.monotonic() >= self._retry_at

    def failed(self, exc: BaseException) -> None:
        """Record a failure: skip the service for the configured pause; log once per outage."""
        pause = float(getattr(settings, "BLOOM_REDIS_OUTAGE_SECONDS", 2.0))
        with self._lock:
            first = not self._down
            self._down = True
            if pause > 0:
                self._retry_at = time.monotonic() + pause
        if first:
            logger.warning(
                "%s unreachable (%s: %s); skipping it for %.1fs at a time", self.name, type(exc).__name__, exc, pause
            )

    def succeeded(self) -> None:
        if self._down:
            with self._lock:
                was_down, self._down = self._down, False
            if was_down:
                logger.warning("%s reachable again", self.name)
