"""Run the Flask app under ASGI with one thread hand-off per request.

Connexion's default bridge (a2wsgi) hands every read of the body and every piece of the
answer back and forth between the worker thread and the event loop, each a blocking
round trip. Our requests are small (BodySizeLimitMiddleware caps them) and no view streams,
so this bridge reads the whole body on the loop, runs the view on the pool once, and sends
the answer as one start and one body message.
"""

from __future__ import annotations

import asyncio
import contextvars
import io
import sys
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

Scope = dict[str, Any]
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class ClientGone(Exception):
    """The client disconnected before its request body was complete."""


class WSGIBridge:
    """An ASGI app that runs a WSGI app on a thread pool of `workers` threads."""

    def __init__(self, app: WSGIApp, workers: int) -> None:
        self.app = app
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="WSGI")

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":  # Connexion answers lifespan itself; this is a fallback
            await _complete_lifespan(receive, send)
            return
        if scope["type"] != "http":
            await send({"type": "websocket.close", "code": 1000})
            return
        try:
            body = await _read_body(receive)
        except ClientGone:
            return
        environ = wsgi_environ(scope, body)
        run = contextvars.copy_context().run  # the request's context vars reach the view
        loop = asyncio.get_running_loop()
        status, headers, chunks = await loop.run_in_executor(
            self.executor, run, _call_wsgi, self.app, environ
        )
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b"".join(chunks)})


def _call_wsgi(app: WSGIApp, environ: dict[str, Any]) -> tuple[int, list[Any], list[bytes]]:
    """Call the app and collect its whole answer (PEP 3333, buffered)."""
    started: list[tuple[str, list[tuple[str, str]]]] = []
    chunks: list[bytes] = []

    def start_response(
        status: str, headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Callable[[bytes], None]:
        if started and exc_info is None:
            raise AssertionError("start_response called twice without exc_info")
        started[:] = [(status, headers)]  # nothing is sent yet, so an error may replace it
        return chunks.append

    answer = app(environ, start_response)
    try:
        chunks.extend(answer)
    finally:
        close = getattr(answer, "close", None)
        if close is not None:
            close()
    if not started:
        raise AssertionError("the WSGI app returned without calling start_response")
    status, headers = started[0]
    encoded = [
        (name.strip().lower().encode("latin-1"), value.strip().encode("latin-1"))
        for name, value in headers
    ]
    return int(status.split(" ", 1)[0]), encoded, chunks


async def _read_body(receive: Any) -> bytes:
    """The whole request body; BodySizeLimitMiddleware, outside, bounds its size."""
    parts = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        parts.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(parts)


async def _complete_lifespan(receive: Any, send: Any) -> None:
    await receive()  # lifespan.startup
    await send({"type": "lifespan.startup.complete"})
    await receive()  # lifespan.shutdown
    await send({"type": "lifespan.shutdown.complete"})


def wsgi_environ(scope: Scope, body: bytes) -> dict[str, Any]:
    """The WSGI environ of an ASGI http scope (PEP 3333 strings are latin-1 decoded)."""
    server_name, server_port = scope.get("server") or ("localhost", 80)
    script_name = scope.get("root_path", "").encode("utf-8").decode("latin-1")
    path_info = scope["path"].encode("utf-8").decode("latin-1")
    if path_info.startswith(script_name):  # ASGI paths include the root path; WSGI's do not
        path_info = path_info[len(script_name) :]
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": script_name,
        "PATH_INFO": path_info,
        "QUERY_STRING": scope["query_string"].decode("latin-1"),
        "SERVER_NAME": server_name,
        "SERVER_PORT": str(server_port or 0),
        "SERVER_PROTOCOL": f"HTTP/{scope['http_version']}",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "asgi.scope": scope,
    }
    if scope.get("client"):
        environ["REMOTE_ADDR"], port = scope["client"]
        environ["REMOTE_PORT"] = str(port)
    for raw_name, raw_value in scope.get("headers", []):
        if b"_" in raw_name:
            # `Content_Type` would join the real CONTENT_TYPE (a 500 in Connexion) and
            # `X_Forwarded_For` the real one: names with `_` are dropped, as gunicorn does.
            continue
        name = raw_name.decode("latin-1").upper().replace("-", "_")
        if name not in ("CONTENT_LENGTH", "CONTENT_TYPE"):
            name = f"HTTP_{name}"
        value = raw_value.decode("latin-1")
        environ[name] = f"{environ[name]},{value}" if name in environ else value
    return environ
