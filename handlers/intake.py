"""Intake pacing: a burst is taken in a few requests per event-loop turn, not all in one.

When hundreds of requests arrive together, the event loop starts all of them in the same turn,
and each one's first step (routing, security, body validation, all on the loop) runs before
the loop looks at its sockets again: 500 initiate requests held it ~360 ms, and every health
check and answer due in that time waited. Admitting a few per turn lets the loop poll its
sockets between them. The total work is the same; a request waits only for those ahead of it,
and its response floor still counts from its arrival (handlers/server.py).

How many make "a few" depends on the host: a first step took ~0.7 ms where the pacing was
first measured, and ~2.5 ms on a host three times slower (as a small container's share of a
core can be), where a fixed 8 per turn held the loop ~20 ms a turn. So the pacer measures
what a turn of admitted requests costs the loop and admits as many as fit in TURN_BUDGET.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send

from handlers.middleware import HttpMiddleware

# Loop time a turn of admitted requests may take: 8 first steps where each took ~0.7 ms (the
# 500-request burst of bench/floor_burst.py), which brought health p99 from ~170 to ~15 ms.
TURN_BUDGET_SECONDS = 0.006
FIRST_GUESS_PER_TURN = 8
MAX_PER_TURN = 64
# Weight of the newest turn in the running estimate of a request's cost to the loop.
NEWEST_TURN_WEIGHT = 0.25


class IntakePacer:
    """Admits as many requests per event-loop turn as fit its budget; the others wait in order.

    Each turn that admitted requests is timed, from its start to the start of the next (which
    is when the admitted requests' first steps have run, along with whatever else the loop
    did), and the estimate of one request's cost follows those times. Given `per_turn`, the
    pacer admits that many per turn whatever they cost.
    """

    def __init__(
        self,
        per_turn: int | None = None,
        budget: float = TURN_BUDGET_SECONDS,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._fixed = per_turn is not None
        self._per_turn = FIRST_GUESS_PER_TURN if per_turn is None else per_turn
        self._budget = budget
        self._clock = clock
        self._cost: float | None = None  # loop seconds one admitted request takes
        self._loop: asyncio.AbstractEventLoop | None = None
        self._admitted = 0
        self._turn_started = 0.0
        self._waiting: deque[asyncio.Future[None]] = deque()
        self._next_turn_due = False

    @property
    def per_turn(self) -> int:
        """How many requests a turn admits now."""
        return self._per_turn

    async def admit(self) -> None:
        """Return at once while this turn has room and nobody waits; otherwise in a later turn."""
        self._follow(asyncio.get_running_loop())
        if self._admitted < self._per_turn and not self._waiting:
            if not self._admitted:
                self._turn_started = self._clock()
            self._admitted += 1
            self._schedule_next_turn()
            return
        admitted = asyncio.get_running_loop().create_future()
        self._waiting.append(admitted)
        self._schedule_next_turn()
        await admitted  # a cancelled wait (the client left) is skipped by _next_turn

    def _follow(self, loop: asyncio.AbstractEventLoop) -> None:
        # One pacer per app; an app served on a new loop (a test's asyncio.run) starts afresh.
        if loop is not self._loop:
            self._loop, self._admitted, self._next_turn_due = loop, 0, False
            self._waiting.clear()

    def _schedule_next_turn(self) -> None:
        if not self._next_turn_due and self._loop is not None:
            self._next_turn_due = True
            # call_soon from inside this turn runs in the next one, after the loop has polled
            # its sockets.
            self._loop.call_soon(self._next_turn)

    def _next_turn(self) -> None:
        now = self._clock()
        if self._admitted and not self._fixed:
            self._learn((now - self._turn_started) / self._admitted)
        self._next_turn_due = False
        self._admitted = 0
        self._turn_started = now
        while self._waiting and self._admitted < self._per_turn:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)
                self._admitted += 1
        if self._admitted:
            self._schedule_next_turn()

    def _learn(self, seconds_per_request: float) -> None:
        """Fold one turn's cost per request into the estimate, and size the next turns by it."""
        if self._cost is None:
            self._cost = seconds_per_request
        else:
            self._cost += NEWEST_TURN_WEIGHT * (seconds_per_request - self._cost)
        if self._cost > 0:
            fits = int(self._budget / self._cost)
            self._per_turn = max(1, min(MAX_PER_TURN, fits))


class IntakePacingMiddleware(HttpMiddleware):
    """Lets each request on only when the pacer admits it."""

    def __init__(self, app: ASGIApp, pacer: IntakePacer | None = None) -> None:
        super().__init__(app)
        self.pacer = pacer or IntakePacer()

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """One HTTP request."""
        await self.pacer.admit()
        await self.app(scope, receive, send)
