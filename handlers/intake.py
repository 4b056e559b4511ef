"""Intake pacing: a burst is taken in a few requests per event-loop turn, not all in one.

When hundreds of requests arrive together, the event loop starts all of them in the same turn,
and each one's first step (routing, security, body validation, all on the loop) runs before
the loop looks at its sockets again: 500 initiate requests held it ~360 ms, and every health
check and answer due in that time waited. Admitting a few per turn lets the loop poll its
sockets between them. The total work is the same; a request waits only for those ahead of it,
and its response floor still counts from its arrival (handlers/server.py).
"""

from __future__ import annotations

import asyncio
from collections import deque

from starlette.types import ASGIApp, Receive, Scope, Send

from handlers.middleware import HttpMiddleware

# About 6 ms of event-loop work per turn at ~0.7 ms per request's first step (measured on the
# 500-request burst of bench/floor_burst.py).
REQUESTS_PER_TURN = 8


class IntakePacer:
    """Admits at most `per_turn` requests per event-loop turn; the others wait, first come first."""

    def __init__(self, per_turn: int = REQUESTS_PER_TURN) -> None:
        self._per_turn = per_turn
        self._loop: asyncio.AbstractEventLoop | None = None
        self._admitted = 0
        self._waiting: deque[asyncio.Future[None]] = deque()
        self._next_turn_due = False

    async def admit(self) -> None:
        """Return at once while this turn has room and nobody waits; otherwise in a later turn."""
        self._follow(asyncio.get_running_loop())
        if self._admitted < self._per_turn and not self._waiting:
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
        self._next_turn_due = False
        self._admitted = 0
        while self._waiting and self._admitted < self._per_turn:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)
                self._admitted += 1
        if self._admitted:
            self._schedule_next_turn()


class IntakePacingMiddleware(HttpMiddleware):
    """Lets each request on only when the pacer admits it."""

    def __init__(self, app: ASGIApp, pacer: IntakePacer | None = None) -> None:
        super().__init__(app)
        self.pacer = pacer or IntakePacer()

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """One HTTP request."""
        await self.pacer.admit()
        await self.app(scope, receive, send)
