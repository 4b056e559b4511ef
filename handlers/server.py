"""uvicorn as the service runs it: a read deadline per request, keep-alive and a concurrency cap.

What uvicorn answers itself (a request its parser refuses, one past the cap) is a problem+json
like every other error of the API, not uvicorn's text/plain.

uvicorn never times out a request that is still arriving: a client sending one byte of its
headers (or body) every few seconds, or a connection that never sends anything, is held
forever. Our protocol gives each request a deadline from its first byte (or from the
connection's opening) until its body is complete, then closes the connection; a request sent
behind another (pipelined) has its own, from its first byte. Between requests, uvicorn's
keep-alive timeout closes idle connections. It also stamps the moment each request is handed
to the application and the moment its last byte came in: its response floor starts at the
later of the two.
"""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import uvicorn_worker
from starlette.exceptions import HTTPException
from starlette.types import Receive, Scope, Send
from uvicorn.protocols.http.flow_control import service_unavailable
from uvicorn.protocols.http.httptools_impl import (
    STATUS_LINE,
    HttpToolsProtocol,
    RequestResponseCycle,
)

from core.config import Settings
from core.errors import Overloaded
from handlers.errors import problem_for, send_problem
from handlers.middleware import ARRIVED_AT, COMPLETED_AT, now


class ReadDeadlineProtocol(HttpToolsProtocol):
    """httptools' protocol, closing a connection whose request is not in within the deadline."""

    read_timeout_seconds = 10.0  # set per server by read_deadline_protocol

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Start the first request's deadline as soon as the connection opens."""
        self._deadline: asyncio.TimerHandle | None = None
        super().connection_made(transport)
        self._start_deadline()

    def on_message_begin(self) -> None:
        """A request's first byte starts its deadline, even while an earlier one is answered."""
        self._start_deadline()
        super().on_message_begin()

    def on_message_complete(self) -> None:
        """The whole request is in: what follows is the application's time, not the client's."""
        self._stop_deadline()
        self.scope.setdefault("extensions", {})[COMPLETED_AT] = now()
        super().on_message_complete()

    def _start_asgi_task(self, cycle: RequestResponseCycle, app: Any) -> None:
        """Stamp when the request went to the application: its response floor counts from here."""
        cycle.scope.setdefault("extensions", {})[ARRIVED_AT] = now()
        if app is service_unavailable:  # past the concurrency cap
            app = _overloaded
        super()._start_asgi_task(cycle, app)

    def send_400_response(self, msg: str) -> None:
        """uvicorn's text/plain 400 for what the HTTP parser refused, as a problem+json.

        Two Content-Lengths, a raw non-ASCII path, a bad chunk: the connection then closes.
        """
        problem = problem_for(HTTPException(400, msg))
        headers = [*self.server_state.default_headers]
        headers += [
            (name.lower().encode(), value.encode()) for name, value in problem.headers.items()
        ]
        headers += [(b"content-length", str(len(problem.body)).encode()), (b"connection", b"close")]
        head = b"".join(name + b": " + value + b"\r\n" for name, value in headers)
        self.transport.write(STATUS_LINE[400] + head + b"\r\n" + problem.body)
        self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        """No deadline outlives its connection."""
        self._stop_deadline()
        super().connection_lost(exc)

    def _start_deadline(self) -> None:
        if self._deadline is None:
            self._deadline = self.loop.call_later(self.read_timeout_seconds, self._too_slow)

    def _stop_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            self.transport.close()


async def _overloaded(_scope: Scope, _receive: Receive, send: Send) -> None:
    """The spec's 503 (retry later) for a request past the concurrency cap."""
    await send_problem(send, Overloaded())


def freeze_startup_objects() -> None:
    """Leave the objects built at startup out of every later garbage collection.

    The app holds ~140,000 long-lived objects (the spec, its validators, botocore's service
    models), and each full collection walked all of them: a ~40 ms pause of the event loop,
    and of every answer and health check waiting on it, several times during a burst.
    """
    gc.collect()
    gc.freeze()


def read_deadline_protocol(seconds: float) -> type[ReadDeadlineProtocol]:
    """The protocol class with this read deadline (uvicorn builds one instance a connection)."""
    return type("ReadDeadlineProtocol", (ReadDeadlineProtocol,), {"read_timeout_seconds": seconds})


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """The uvicorn settings shared by `provider-accounts serve` and the container's workers."""
    return {
        "http": read_deadline_protocol(settings.request_read_timeout_seconds),
        "timeout_keep_alive": settings.keep_alive_timeout_seconds,
        # Past this many connections and requests in flight, uvicorn answers 503 at once.
        "limit_concurrency": settings.max_concurrency,
    }


class UvicornWorker(uvicorn_worker.UvicornWorker):
    """gunicorn's uvicorn worker with the service's own server settings."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # The base class builds its uvicorn Config in __init__ from CONFIG_KWARGS.
        self.CONFIG_KWARGS = {**self.CONFIG_KWARGS, **uvicorn_options(Settings())}
        super().__init__(*args, **kwargs)
