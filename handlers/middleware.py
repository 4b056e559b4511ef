"""ASGI middlewares: request guards, response-time floors and the request-body size limit."""

from __future__ import annotations

import asyncio
import time

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.metrics import REQUEST_SECONDS
from handlers.errors import (
    BodyTooLarge,
    LengthRequired,
    UnsupportedMediaType,
    problem_for,
    record,
    send_problem,
)

ROUTING = "connexion_routing"
# Where the floor layer leaves, in scope["extensions"], the seconds spent before the floor.
WORK_SECONDS = "provider_accounts.work_seconds"
# Where our server protocol leaves, in scope["extensions"], the time (see `now`) at which it
# handed the request to the application, and the time the request's last byte came in
# (handlers/server.py).
ARRIVED_AT = "provider_accounts.arrived_at"
COMPLETED_AT = "provider_accounts.completed_at"


class HttpMiddleware:
    """Base of our ASGI middlewares: lifespan and other non-HTTP scopes pass straight through."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.handle(scope, receive, send)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """One HTTP request."""
        raise NotImplementedError


def now() -> float:
    """The clock of arrival stamps and floors: time.monotonic, to the microsecond.

    Not the event loop's clock: uvloop's counts whole milliseconds as of the loop's last
    wake-up, and its timers may fire up to a millisecond early, so a floor timed by it
    answered up to 1.6 ms before its end (tests/reliability/test_timing_under_load.py).
    """
    return time.monotonic()


def arrived_at(scope: Scope) -> float:
    """When the server took the request in (see `now`), or now if it did not say.

    Under a burst the event loop reaches a request's first step only after the steps of the
    requests before it; timing from that step would hide the wait, and a floor would add it.
    """
    stamp = scope.get("extensions", {}).get(ARRIVED_AT)
    return stamp if isinstance(stamp, float) else now()


def floor_start(scope: Scope, arrived: float, body_read_at: float | None) -> float:
    """When a request's floor starts: once the request is all in, headers and body.

    A client that sends its headers, waits out the floor and only then sends the body must
    still wait the whole floor for its answer. The server's stamp of the request's last byte
    is precise; without it (another server), the moment the application read the body's end
    stands in. An answer sent before the body was in counts from the arrival.
    """
    completed = scope.get("extensions", {}).get(COMPLETED_AT)
    if not isinstance(completed, float):
        completed = body_read_at
    return max(arrived, completed) if completed is not None else arrived


def operation_id(scope: Scope) -> str | None:
    """The operationId Connexion's routing resolved for this request, once it has."""
    return scope.get("extensions", {}).get(ROUTING, {}).get("operation_id")  # type: ignore[no-any-return]


class ResponseFloorMiddleware(HttpMiddleware):
    """Holds each response of an operation until its floor has passed (`floor_start`).

    A floor makes every outcome of an operation take the same time, so timing cannot tell
    them apart. The wait is an asyncio sleep on the event loop: a request waiting out its
    floor holds no worker thread, so thousands can wait at once. It also records each
    request's latency with and without its floor.
    """

    def __init__(self, app: ASGIApp, floors: dict[str, float], enabled: bool = True) -> None:
        super().__init__(app)
        self.floors = floors
        self.enabled = enabled

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """One HTTP request."""
        # Connexion's routing writes the operation into scope["extensions"] of a shallow copy of
        # the scope: only if that dict already exists here do we see it. uvicorn's HTTP/1.1
        # scope has none, and without this line no floor was ever applied in a real server.
        scope.setdefault("extensions", {})
        arrived = arrived_at(scope)
        body_read_at: float | None = None

        async def receive_noting_the_end() -> Message:
            nonlocal body_read_at
            message = await receive()
            if message["type"] == "http.request" and not message.get("more_body", False):
                body_read_at = now()
            return message

        async def send_after_floor(message: Message) -> None:
            if message["type"] == "http.response.start":
                operation = operation_id(scope)
                ready = now()
                floor = self.floors.get(operation or "", 0.0) if self.enabled else 0.0
                start = floor_start(scope, arrived, body_read_at)
                # A timer may wake a little early: wait again until the floor has truly passed.
                while (remaining := start + floor - now()) > 0:
                    await asyncio.sleep(remaining)
                label = operation or "unrouted"
                # The request log reports this too: CloudWatch alarms on latency without floors.
                scope["extensions"][WORK_SECONDS] = ready - arrived
                REQUEST_SECONDS.labels(label, "excluded").observe(ready - arrived)
                REQUEST_SECONDS.labels(label, "included").observe(now() - arrived)
            await send(message)

        await self.app(scope, receive_noting_the_end, send_after_floor)


class LastResortMiddleware(HttpMiddleware):
    """An exception no inner layer answered becomes the error table's 500 problem+json.

    Connexion's exception layer answers for everything inside it; what our own middlewares
    around it raise would reach Starlette's outermost error layer, which fails on Connexion's
    async handler and left uvicorn's text/plain 500, neither logged as ours nor counted. This
    layer sits inside the security headers and the request id, so its 500 carries both.
    """

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """One HTTP request."""
        started = False

        async def send_noting_the_start(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, send_noting_the_start)
        except Exception as error:  # noqa: BLE001 - the last resort: whatever it is, answer
            if not started:
                await send_problem(send, error)
                return
            # Too late for another answer: logged and counted, and uvicorn closes the
            # connection on the unfinished one.
            record(error)


class SecurityHeadersMiddleware(HttpMiddleware):
    """Headers on every response; account responses are never stored by any cache.

    Redirects (a trailing slash) point to a path on the same origin: an absolute Location
    would be built from the request's Host header, which the caller chooses.
    """

    COMMON = ((b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer"))
    NO_STORE = (b"cache-control", b"no-store")
    ACCOUNT_PREFIX = "/v1/provider-users/"

    def __init__(self, app: ASGIApp, *, no_store_everywhere: bool = False) -> None:
        """`no_store_everywhere`: no answer stored whatever its path (the protocol's own)."""
        super().__init__(app)
        self.no_store_everywhere = no_store_everywhere

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """One HTTP request."""
        extra = list(self.COMMON)
        if self.no_store_everywhere or scope.get("path", "").startswith(self.ACCOUNT_PREFIX):
            extra.append(self.NO_STORE)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name for name, _ in extra}
                kept = [
                    (n, relative_location(v) if n.lower() == b"location" else v)
                    for n, v in message.get("headers", [])
                    if n.lower() not in names
                ]
                message = {**message, "headers": kept + extra}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class ProblemCORSMiddleware(CORSMiddleware):
    """Starlette's CORS, whose refused preflight is a problem+json like any other error."""

    def preflight_response(self, request_headers: Headers) -> Response:
        """The grant, or the refusal (origin, method or headers not allowed) as a problem."""
        answer = super().preflight_response(request_headers)
        if answer.status_code < 400:
            return answer
        problem = problem_for(HTTPException(answer.status_code, bytes(answer.body).decode()))
        kept = {
            name: value
            for name, value in answer.headers.items()
            if name not in ("content-type", "content-length")
        }
        return Response(problem.body, problem.status, headers={**kept, **problem.headers})


def relative_location(value: bytes) -> bytes:
    """The path (and query) of an absolute http(s) URL; anything else unchanged."""
    scheme, separator, rest = value.partition(b"://")
    if not separator or scheme.lower() not in (b"http", b"https"):
        return value
    path = rest.partition(b"/")[1:]
    return b"".join(path) or b"/"


class BodySizeLimitMiddleware(HttpMiddleware):
    """Answers 413 for bodies over the limit before anything parses or validates them."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        super().__init__(app)
        self.max_bytes = max_bytes

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """One HTTP request."""
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await send_problem(send, BodyTooLarge())
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


class RequestGuardMiddleware(HttpMiddleware):
    """The outermost check of what a request may look like before anything routes or parses it.

    Connexion reads only the first Content-Type and matches validators case-sensitively, while
    the WSGI bridge joins repeated headers and Flask parses the body anyway: a body declared as
    `application/JSON` plus `+json` used to reach handlers unvalidated. So a request with a
    body (any request declaring one, and any to an operation that takes one; other methods
    still get their 405) must carry exactly one Content-Type,
    application/json (utf-8 at most), which is then passed on in its canonical spelling, and
    a Content-Length: Connexion takes a chunked body without one for no body at all.
    Paths holding `//` are refused: routing and Flask read them differently.
    """

    CANONICAL = b"application/json"

    def __init__(self, app: ASGIApp, body_operations: frozenset[tuple[str, str]]) -> None:
        super().__init__(app)
        self.body_operations = body_operations

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """One HTTP request."""
        if "//" in scope.get("path", ""):
            await send_problem(send, HTTPException(404, "Not found"))
            return
        operation = (scope["method"], scope.get("path", "").rstrip("/"))
        if operation in self.body_operations or _declares_body(scope):
            types = [value for name, value in scope["headers"] if name == b"content-type"]
            if len(types) != 1 or not is_json_media_type(types[0]):
                await send_problem(send, UnsupportedMediaType())
                return
            if _content_length(scope) is None and _has_header(scope, b"transfer-encoding"):
                await send_problem(send, LengthRequired())
                return
            headers = [(n, v) for n, v in scope["headers"] if n != b"content-type"]
            scope["headers"] = [*headers, (b"content-type", self.CANONICAL)]
        await self.app(scope, receive, send)


def _declares_body(scope: Scope) -> bool:
    """Whether the request says a body follows (a non-zero length, or chunks)."""
    for name, value in scope["headers"]:
        if name == b"transfer-encoding" or (name == b"content-length" and value.strip() != b"0"):
            return True
    return False


def _has_header(scope: Scope, wanted: bytes) -> bool:
    return any(name == wanted for name, _ in scope["headers"])


def is_json_media_type(value: bytes) -> bool:
    """application/json in any letter case, with no parameter but charset=utf-8."""
    media_type, *parameters = value.decode("latin-1").split(";")
    if media_type.strip().lower() != "application/json":
        return False
    for parameter in parameters:
        name, _, setting = parameter.partition("=")
        if name.strip().lower() != "charset" or setting.strip().strip('"').lower() != "utf-8":
            return False
    return True
