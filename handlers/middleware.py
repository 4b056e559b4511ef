"""ASGI middlewares: response-time floors and the request-body size limit."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.metrics import REQUEST_SECONDS
from handlers.errors import BodyTooLarge, problem_body

ROUTING = "connexion_routing"
# Where the floor layer leaves, in scope["extensions"], the seconds spent before the floor.
WORK_SECONDS = "provider_accounts.work_seconds"


def operation_id(scope: Scope) -> str | None:
    """The operationId Connexion's routing resolved for this request, once it has."""
    return scope.get("extensions", {}).get(ROUTING, {}).get("operation_id")  # type: ignore[no-any-return]


class ResponseFloorMiddleware:
    """Holds each response of an operation until its floor (seconds since arrival) has passed.

    A floor makes every outcome of an operation take the same time, so timing cannot tell
    them apart. The wait is an asyncio sleep on the event loop: a request waiting out its
    floor holds no worker thread, so thousands can wait at once. It also records each
    request's latency with and without its floor.
    """

    def __init__(self, app: ASGIApp, floors: dict[str, float], enabled: bool = True) -> None:
        self.app = app
        self.floors = floors
        self.enabled = enabled

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        arrived = loop.time()
        # Connexion's routing writes the operation into scope["extensions"] of a shallow copy of
        # the scope: only if that dict already exists here do we see it. uvicorn's HTTP/1.1
        # scope has none, and without this line no floor was ever applied in a real server.
        scope.setdefault("extensions", {})

        async def send_after_floor(message: Message) -> None:
            if message["type"] == "http.response.start":
                operation = operation_id(scope)
                ready = loop.time()
                floor = self.floors.get(operation or "", 0.0) if self.enabled else 0.0
                remaining = arrived + floor - ready
                if remaining > 0:
                    await asyncio.sleep(remaining)
                label = operation or "unrouted"
                # The request log reports this too: CloudWatch alarms on latency without floors.
                scope["extensions"][WORK_SECONDS] = ready - arrived
                REQUEST_SECONDS.labels(label, "excluded").observe(ready - arrived)
                REQUEST_SECONDS.labels(label, "included").observe(loop.time() - arrived)
            await send(message)

        await self.app(scope, receive, send_after_floor)


class SecurityHeadersMiddleware:
    """Headers on every response; account responses are never stored by any cache."""

    COMMON = ((b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer"))
    ACCOUNT_PREFIX = "/v1/provider-users/"

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = list(self.COMMON)
        if scope.get("path", "").startswith(self.ACCOUNT_PREFIX):
            extra.append((b"cache-control", b"no-store"))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name for name, _ in extra}
                kept = [(n, v) for n, v in message.get("headers", []) if n.lower() not in names]
                message = {**message, "headers": kept + extra}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodySizeLimitMiddleware:
    """Answers 413 for bodies over the limit before anything parses or validates them."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await _send_problem(send, 413, "The request body is larger than the limit")
            return
        seen = 0

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge()
            return message

        await self.app(scope, counting_receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _send_problem(send: Send, status: int, detail: str) -> None:
    body = json.dumps(problem_body(status, detail)).encode()
    headers: list[tuple[bytes, bytes]] = [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def floors_from_spec(spec: dict[str, Any], package: str = "") -> dict[str, float]:
    """operationId → x-response-floor-seconds, for every operation that declares one.

    Routing names an operation as its resolver does: RelativeResolver("handlers") turns
    "registration.register_provider" into "handlers.registration.register_provider", so pass
    the same package to key the floors the way the middleware will look them up.
    """
    prefix = f"{package}." if package else ""
    floors: dict[str, float] = {}
    for path_item in spec.get("paths", {}).values():
        for operation in path_item.values():
            if isinstance(operation, dict) and "x-response-floor-seconds" in operation:
                seconds = float(operation["x-response-floor-seconds"])
                floors[prefix + operation["operationId"]] = seconds
    return floors
