"""Readiness: probes cached for a few seconds, and never queued behind a slow refresh."""

from __future__ import annotations

import threading

from core.services.readiness import Readiness


class Probe:
    """A probe that can be made to fail, or to block until released."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.calls = 0
        self.broken = False
        self.gate: threading.Event | None = None

    def check(self) -> None:
        self.calls += 1
        if self.gate is not None:
            self.gate.wait(5)
        if self.broken:
            raise RuntimeError("unreachable")


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_ready_when_every_probe_passes_and_cached_for_the_ttl() -> None:
    table, pool, clock = Probe("provider_table"), Probe("user_pool"), Clock()
    readiness = Readiness([table, pool], ttl_seconds=5, monotonic=clock)

    assert readiness.failing() == []
    clock.now += 4.9
    assert readiness.failing() == []
    assert (table.calls, pool.calls) == (1, 1)


def test_a_failing_probe_is_named_until_it_recovers() -> None:
    table, pool, clock = Probe("provider_table"), Probe("user_pool"), Clock()
    pool.broken = True
    readiness = Readiness([table, pool], ttl_seconds=5, monotonic=clock)

    assert readiness.failing() == ["user_pool"]
    pool.broken = False
    assert readiness.failing() == ["user_pool"]  # cached
    clock.now += 5
    assert readiness.failing() == []


def test_a_forgotten_result_is_probed_again_within_the_ttl() -> None:
    # Given a failing pool was cached as unreachable, then recovered
    pool, clock = Probe("user_pool"), Clock()
    pool.broken = True
    readiness = Readiness([pool], ttl_seconds=5, monotonic=clock)
    assert readiness.failing() == ["user_pool"]
    pool.broken = False

    # When the cached result is forgotten, within its TTL
    readiness.forget()

    # Then the next call probes again and sees the pool answer
    assert readiness.failing() == []
    assert pool.calls == 2


def test_callers_do_not_queue_behind_a_slow_refresh() -> None:
    # Given a result is cached, then goes stale, and the refresh hangs on a slow dependency
    slow, clock = Probe("user_pool"), Clock()
    readiness = Readiness([slow], ttl_seconds=5, monotonic=clock)
    assert readiness.failing() == []
    clock.now += 10
    slow.gate, slow.broken = threading.Event(), True
    refresher = threading.Thread(target=readiness.failing)
    refresher.start()
    while slow.calls < 2:
        pass

    # When another caller asks meanwhile, it gets the last result at once
    assert readiness.failing() == []

    # And once the refresh finishes, its result is served
    slow.gate.set()
    refresher.join(5)
    assert readiness.failing() == ["user_pool"]
