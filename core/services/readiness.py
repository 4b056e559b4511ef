"""Readiness: can this instance reach what it needs? Cached, so probes stay cheap."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Protocol

log = logging.getLogger(__name__)


class Probe(Protocol):
    name: str

    def check(self) -> None: ...


class Readiness:
    """Runs every probe at most once per `ttl_seconds` and remembers which failed."""

    def __init__(
        self,
        probes: Sequence[Probe],
        ttl_seconds: float = 5.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._probes = probes
        self._ttl = ttl_seconds
        self._now = monotonic
        self._lock = threading.Lock()
        self._checked_at: float | None = None
        self._failing: list[str] = []

    def failing(self) -> list[str]:
        """Names of the dependencies that could not be reached (empty when ready).

        One caller refreshes a stale result; the others get the last result meanwhile instead
        of queueing behind slow probes (and holding request threads while they wait).
        """
        stale = self._checked_at is None or self._now() - self._checked_at >= self._ttl
        if stale and self._lock.acquire(blocking=self._checked_at is None):
            try:
                self._failing = [probe.name for probe in self._probes if not _passes(probe)]
                self._checked_at = self._now()
            finally:
                self._lock.release()
        return list(self._failing)

    def forget(self) -> None:
        """Drop the cached result: the next call probes again."""
        with self._lock:
            self._checked_at, self._failing = None, []


def _passes(probe: Probe) -> bool:
    try:
        probe.check()
    except Exception:  # noqa: BLE001 - any failure means "not ready", whatever its kind
        log.warning("readiness probe failed: %s", probe.name)
        return False
    return True
