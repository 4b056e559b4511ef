"""A floor ends on the precise clock, even when the event loop's timer wakes early, and counts
from the request's last byte."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from handlers import middleware
from handlers.middleware import (
    ARRIVED_AT,
    COMPLETED_AT,
    ROUTING,
    ResponseFloorMiddleware,
    now,
)

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


async def routed_answer_after_the_body(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """An operation with a floor, answered as soon as its body has been read."""
    while (await receive()).get("more_body"):
        pass
    await routed_answer(scope, receive, send)


def answer_times(extensions: dict[str, float], body_delay: float) -> tuple[float, float, float]:
    """(arrived, body read, answer sent) of one request whose body's end comes `body_delay` late."""
    floors = ResponseFloorMiddleware(routed_answer_after_the_body, {"floored": FLOOR})
    times: dict[str, float] = {}

    async def receive() -> dict[str, Any]:
        await asyncio.sleep(body_delay)
        times["read"] = now()
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            times["sent"] = now()

    async def serve() -> None:
        times["arrived"] = now()
        scope = {"type": "http", "extensions": {ARRIVED_AT: times["arrived"], **extensions}}
        await floors(scope, receive, send)

    asyncio.run(serve())
    return times["arrived"], times["read"], times["sent"]


def test_without_the_servers_stamp_the_floor_counts_from_the_end_of_the_body() -> None:
    # Given a server that does not stamp the last byte, and a body whose end comes 2 floors late
    # When the request is answered
    arrived, read, sent = answer_times({}, body_delay=2 * FLOOR)

    # Then the answer waited the whole floor after the body was read, not after the headers
    assert sent - read >= FLOOR
    assert sent - arrived >= 3 * FLOOR


def test_the_servers_stamp_of_the_last_byte_starts_the_floor() -> None:
    # Given the server's stamp: the request's last byte came in 3 floors after its headers
    arrived_ahead = now()
    stamps = {COMPLETED_AT: arrived_ahead + 3 * FLOOR}

    # When the application reads the body at once and answers
    _, _, sent = answer_times(stamps, body_delay=0)

    # Then the answer waited the floor from that stamp
    assert sent - stamps[COMPLETED_AT] >= FLOOR
