"""uvicorn as the service runs it: deadlines, a cap on requests in flight, HTTP/1.1's rules.

What the protocol answers itself (a request its parser refuses, headers past the limit, one
past the cap) is a problem+json like every other error of the API, not uvicorn's text/plain.

uvicorn never times out a request that is still arriving: a client sending one byte of its
headers (or body) every few seconds, or a connection that never sends anything, is held
forever. Our protocol gives each request a deadline from its first byte (or from the
connection's opening) until its body is complete, then closes the connection; a request sent
behind another (pipelined) has its own, from its first byte. A client that stops reading its
answer gets the same time for the stalled answer to move on, then the connection is dropped.
Between requests, uvicorn's keep-alive timeout closes idle connections. It also stamps the
moment each request is handed to the application and the moment its last byte came in: its
response floor starts at the later of the two.

The cap counts requests in flight, not connections: idle kept-alive connections cost little,
and counting them let a client holding many open make every request, health checks included,
answer 503. Past the cap, liveness is still answered: on ECS a failing health check replaces
the task, which under load would only make things worse. The 503 goes through the API's CORS
policy, which also answers a preflight at once: a frontend on another origin reads the 503 and
its Retry-After instead of a network error. The 400 and 431 carry no CORS headers: browsers
send neither malformed requests nor 64 KiB of headers.
"""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import uvicorn_worker
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import (
    STATUS_LINE,
    HttpToolsProtocol,
    RequestResponseCycle,
)

from core.config import Settings
from core.errors import Overloaded
from handlers.app import cors_policy
from handlers.errors import problem_for, send_problem
from handlers.middleware import (
    ARRIVED_AT,
    COMPLETED_AT,
    ProblemCORSMiddleware,
    SecurityHeadersMiddleware,
    now,
)

LIVENESS_PATH = "/v1/health"
# The request line and headers together; the parser itself has no limit, and it joins a long
# header value piece by piece on the event loop (a 48 MB one held every answer ~2 s).
MAX_HEAD_BYTES = 64 * 1024
# On what the protocol answers itself, as the security headers layer puts on every answer.
OWN_ANSWER_HEADERS = (*SecurityHeadersMiddleware.COMMON, SecurityHeadersMiddleware.NO_STORE)


async def _overloaded(_scope: Scope, _receive: Receive, send: Send) -> None:
    """The spec's 503 (retry later) for a request past the concurrency cap."""
    await send_problem(send, Overloaded(), OWN_ANSWER_HEADERS)


class ServiceProtocol(HttpToolsProtocol):
    """httptools' protocol with deadlines, a head size limit and a cap on requests in flight."""

    read_timeout_seconds = 10.0  # set per server by server_protocol
    max_in_flight = 1000  # likewise
    past_the_cap: ASGIApp = staticmethod(_overloaded)  # what answers past max_in_flight

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Start the first request's deadline as soon as the connection opens."""
        self._deadline: asyncio.TimerHandle | None = None
        self._write_deadline: asyncio.TimerHandle | None = None
        self._running: RequestResponseCycle | None = None
        self._refusal: str | None = None
        self._owed_refusal: bytes | None = None
        self._head_bytes, self._head_tail, self._reading_head = 0, b"", True
        super().connection_made(transport)
        self._start_deadline()

    def data_received(self, data: bytes) -> None:
        """Refuse a head past MAX_HEAD_BYTES before the parser spends time on it (431)."""
        if self._owed_refusal is not None:
            return  # a request was refused: nothing after it is read
        if self._reading_head and self._head_too_long(data):
            self._answer_and_close(HTTPException(431, "The request headers are too large"))
            return
        super().data_received(data)

    def on_message_begin(self) -> None:
        """A request's first byte starts its deadline, even while an earlier one is answered."""
        self._start_deadline()
        super().on_message_begin()

    def on_headers_complete(self) -> None:
        """HTTP/1.1 asks for exactly one Host (RFC 9112, 3.2); HTTP/1.0 for one at most."""
        self._reading_head = False
        hosts = sum(1 for name, _ in self.headers if name == b"host")
        if hosts > 1 or (hosts == 0 and self.parser.get_http_version() == "1.1"):
            self._refusal = "Send exactly one Host header"
            raise ValueError(self._refusal)  # the parser's error: send_400_response answers
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        """The whole request is in: what follows is the application's time, not the client's."""
        self._stop_deadline()
        self._head_bytes, self._head_tail, self._reading_head = 0, b"", True
        self.scope.setdefault("extensions", {})[COMPLETED_AT] = now()
        super().on_message_complete()

    def _start_asgi_task(self, cycle: RequestResponseCycle, app: Any) -> None:
        """Stamp when the request went to the application: its response floor counts from here.

        Past the cap on requests in flight, a request gets the 503 at once; liveness never.
        """
        cycle.scope.setdefault("extensions", {})[ARRIVED_AT] = now()
        if len(self.tasks) >= self.max_in_flight and cycle.scope["path"] != LIVENESS_PATH:
            app = self.past_the_cap
        self._running = cycle
        super()._start_asgi_task(cycle, app)

    def send_400_response(self, msg: str) -> None:
        """uvicorn's text/plain 400 for what the HTTP parser refused, as a problem+json.

        Two Content-Lengths, a raw non-ASCII path, a bad chunk, two Hosts: the connection
        then closes.
        """
        self._answer_and_close(HTTPException(400, self._refusal or msg))

    def on_response_complete(self) -> None:
        """After the last answer owed before a refused request, its refusal, then the close."""
        super().on_response_complete()
        if self._owed_refusal is not None and not self._answers_owed():
            self._write_and_close(self._owed_refusal)

    def pause_writing(self) -> None:
        """The client stopped reading: it has the read deadline to start again."""
        super().pause_writing()
        if self._write_deadline is None:
            self._write_deadline = self.loop.call_later(
                self.read_timeout_seconds, self._not_reading
            )

    def resume_writing(self) -> None:
        """The client reads again."""
        self._stop_write_deadline()
        super().resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        """No deadline outlives its connection; no answer is written to a closed one.

        uvicorn marks only the newest request it parsed as disconnected; with requests
        pipelined that is not the one running, whose next write then failed as a server error.
        """
        self._stop_deadline()
        self._stop_write_deadline()
        for cycle in (self._running, *(queued for queued, _ in self.pipeline)):
            if cycle is not None and not cycle.response_complete:
                cycle.disconnected = True
                cycle.message_event.set()
        super().connection_lost(exc)

    def _head_too_long(self, data: bytes) -> bool:
        """Count the bytes of the head in `data` (up to its blank line, which may be split)."""
        seen = self._head_tail + data
        end = seen.find(b"\r\n\r\n")
        self._head_bytes += len(data) if end < 0 else max(0, end + 4 - len(self._head_tail))
        self._head_tail = seen[-3:]
        return self._head_bytes > MAX_HEAD_BYTES

    def _answer_and_close(self, error: HTTPException) -> None:
        """Refuse a request, and close the connection once the answers it follows are out.

        Written at once it would reach a client pipelining requests as the answer to an
        earlier request still running.
        """
        self._reading_head = False
        answer = self._problem_bytes(error)
        if self._answers_owed():
            self._owed_refusal = answer
            self._stop_deadline()  # the client has sent all it will be answered for
            self.flow.pause_reading()
            return
        self._write_and_close(answer)

    def _answers_owed(self) -> bool:
        running = self._running is not None and not self._running.response_complete
        return running or bool(self.pipeline)

    def _write_and_close(self, answer: bytes) -> None:
        self._owed_refusal = None
        if not self.transport.is_closing():
            self.transport.write(answer)
            self.transport.close()

    def _problem_bytes(self, error: HTTPException) -> bytes:
        problem = problem_for(error)
        headers = [*self.server_state.default_headers, *OWN_ANSWER_HEADERS]
        headers += [
            (name.lower().encode(), value.encode()) for name, value in problem.headers.items()
        ]
        headers += [(b"content-length", str(len(problem.body)).encode()), (b"connection", b"close")]
        head = b"".join(name + b": " + value + b"\r\n" for name, value in headers)
        return STATUS_LINE[problem.status] + head + b"\r\n" + problem.body

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

    def _stop_write_deadline(self) -> None:
        if self._write_deadline is not None:
            self._write_deadline.cancel()
            self._write_deadline = None

    def _not_reading(self) -> None:
        self._write_deadline = None
        self.transport.abort()  # what is still buffered for it is dropped


def freeze_startup_objects() -> None:
    """Leave the objects built at startup out of every later garbage collection.

    The app holds ~140,000 long-lived objects (the spec, its validators, botocore's service
    models), and each full collection walked all of them: a ~40 ms pause of the event loop,
    and of every answer and health check waiting on it, several times during a burst.
    """
    gc.collect()
    gc.freeze()


def server_protocol(
    read_timeout_seconds: float, max_in_flight: int, past_the_cap: ASGIApp = _overloaded
) -> type[ServiceProtocol]:
    """The protocol class with these limits (uvicorn builds one instance a connection)."""
    limits = {
        "read_timeout_seconds": read_timeout_seconds,
        "max_in_flight": max_in_flight,
        "past_the_cap": staticmethod(past_the_cap),
    }
    return type("ServiceProtocol", (ServiceProtocol,), limits)


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """The uvicorn settings shared by `provider-accounts serve` and the container's workers."""
    past_the_cap = SecurityHeadersMiddleware(  # on a CORS preflight's answer too
        ProblemCORSMiddleware(_overloaded, **cors_policy(settings)), no_store_everywhere=True
    )
    return {
        "http": server_protocol(
            settings.request_read_timeout_seconds, settings.max_concurrency, past_the_cap
        ),
        "timeout_keep_alive": settings.keep_alive_timeout_seconds,
        # No uvicorn cap: it counted idle connections too. The protocol caps requests.
        "limit_concurrency": None,
    }


class UvicornWorker(uvicorn_worker.UvicornWorker):
    """gunicorn's uvicorn worker with the service's own server settings."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # The base class builds its uvicorn Config in __init__ from CONFIG_KWARGS.
        self.CONFIG_KWARGS = {**self.CONFIG_KWARGS, **uvicorn_options(Settings())}
        super().__init__(*args, **kwargs)
