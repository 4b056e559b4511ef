"""An app as our server hands it requests: each stamped with the moment it arrived.

The server's protocol (handlers/server.py) stamps every request before the app sees it, with
when it was handed on and when its last byte came in, and floors count from the later stamp.
In-process, the whole body is there as the request arrives, so both stamps are that moment.
An app driven in-process (httpx's ASGITransport) gets no stamp, so its floors would count
from the moment intake pacing let each request on, and a burst's requests admitted in later
turns would answer later: a difference of admission order, not of outcome, which the server
hides.
"""

from __future__ import annotations

from typing import Any

from starlette.types import Receive, Scope, Send

from handlers.middleware import ARRIVED_AT, COMPLETED_AT, now


def stamped_on_arrival(app: Any) -> Any:
    """`app`, with each HTTP request stamped as it arrives, as the server stamps it."""

    async def arriving(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            arrived = now()
            stamps = {ARRIVED_AT: arrived, COMPLETED_AT: arrived}
            scope = {**scope, "extensions": {**scope.get("extensions", {}), **stamps}}
        await app(scope, receive, send)

    return arriving
