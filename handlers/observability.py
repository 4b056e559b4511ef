"""Request ids, the per-request log line, and the operation in the log context."""

from __future__ import annotations

import json
import logging
import re
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core import log_context
from handlers.health import get_health
from handlers.middleware import WORK_SECONDS, HttpMiddleware, arrived_at, now, operation_id

log = logging.getLogger("provider_accounts.requests")
REQUEST_ID_HEADER = b"x-request-id"
# Accept a caller's id only if it is short and plain, so it cannot forge log lines.
VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class RequestContextMiddleware(HttpMiddleware):
    """Gives every request an id (the caller's X-Request-Id if valid), returns it, logs once."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """One HTTP request."""
        request_id = _request_id(scope)
        # Inner layers (and the Flask view) see the canonical id in the headers too.
        scope["headers"] = [(n, v) for n, v in scope["headers"] if n != REQUEST_ID_HEADER] + [
            (REQUEST_ID_HEADER, request_id.encode())
        ]
        token = log_context.request_id.set(request_id)
        started = arrived_at(scope)
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [(n, v) for n, v in message.get("headers", []) if n != REQUEST_ID_HEADER]
                message = {
                    **message,
                    "headers": [*headers, (REQUEST_ID_HEADER, request_id.encode())],
                }
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            log.info(
                "request completed",
                extra={
                    "method": scope.get("method"),
                    "path": scope.get("path"),
                    "status": status,
                    "duration_ms": round((now() - started) * 1000, 1),
                    "work_ms": _work_ms(scope),
                    "operation": operation_id(scope) or "-",
                },
            )
            log_context.request_id.reset(token)


class OperationContextMiddleware:
    """Sits after Connexion's routing: puts the operation into the log context."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        token = log_context.operation.set(operation_id(scope))
        try:
            await self.app(scope, receive, send)
        finally:
            log_context.operation.reset(token)


class LivenessMiddleware:
    """Answers GET /v1/health on the event loop, never queued behind the request threads.

    The spec's health operation stays the contract; this only makes sure a burst that keeps
    every Flask thread busy cannot make the container look dead to its health check. HEAD is
    answered here too, so that its Content-Length is the GET's (Flask's own JSON is longer).
    """

    PATH = "/v1/health"
    BODY = json.dumps(get_health()[0]).encode()  # the spec operation's own answer

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope.get("path") != self.PATH
            or scope["method"] not in ("GET", "HEAD")
        ):
            await self.app(scope, receive, send)
            return
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(self.BODY)).encode()),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        body = self.BODY if scope["method"] == "GET" else b""
        await send({"type": "http.response.body", "body": body})


def _work_ms(scope: Scope) -> float | None:
    """How long the answer took before its response-time floor, when the floor layer saw it."""
    seconds = scope.get("extensions", {}).get(WORK_SECONDS)
    return None if seconds is None else round(seconds * 1000, 1)


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == REQUEST_ID_HEADER:
            candidate = value.decode("latin-1")
            if VALID_REQUEST_ID.match(candidate):
                return candidate
            break
    return uuid.uuid4().hex
