"""A floor ends on the precise clock, even when the event loop's timer wakes early."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from handlers import middleware
from handlers.middleware import ARRIVED_AT, ROUTING, ResponseFloorMiddleware, now

FLOOR = 0.05


async def routed_answer(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """An operation with a floor, answered at once."""
    scope["extensions"][ROUTING] = {"operation_id": "floored"}
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


def test_an_early_timer_does_not_answer_before_the_floor(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a timer that wakes 40% early (uvloop's may wake up to ~1 ms early on its ms clock)
    real_sleep = asyncio.sleep
    wakes = []

    async def early_sleep(seconds: float) -> None:
        wakes.append(seconds)
        await real_sleep(seconds * 0.6)

    monkeypatch.setattr(middleware.asyncio, "sleep", early_sleep)
    floors = ResponseFloorMiddleware(routed_answer, {"floored": FLOOR})
    sent_at: list[float] = []

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            sent_at.append(now())

    async def serve() -> float:
        arrived = now()
        scope = {"type": "http", "extensions": {ARRIVED_AT: arrived}}
        await floors(scope, None, send)
        return arrived

    # When a request is answered
    arrived = asyncio.run(serve())

    # Then the answer left only once the floor had passed on the precise clock, after re-waits
    assert sent_at[0] - arrived >= FLOOR
    assert len(wakes) > 1
