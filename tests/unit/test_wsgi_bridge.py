"""The WSGI bridge: the environ a view sees, the answer the client gets, one hand-off."""

from __future__ import annotations

import asyncio
import contextvars
import sys
import threading
from typing import Any

import pytest

from handlers.wsgi_bridge import WSGIBridge, wsgi_environ

REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="none")


def http_scope(**changes: Any) -> dict[str, Any]:
    scope = {
        "type": "http",
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "root_path": "",
        "path": "/v1/provider-users/registrations",
        "query_string": b"a=1&b=%C3%A9",
        "server": ("127.0.0.1", 8000),
        "client": ("203.0.113.9", 51234),
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", b"11"),
            (b"x-forwarded-for", b"198.51.100.1"),
            (b"X-Forwarded-For", b"198.51.100.2"),
            (b"user-agent", b"caf\xe9"),
        ],
    }
    return scope | changes


def run(bridge: WSGIBridge, scope: dict[str, Any], bodies: list[dict[str, Any]]) -> list[Any]:
    """Drive the bridge like a server: feed `bodies` to receive, collect what it sends."""
    sent: list[Any] = []

    async def receive() -> dict[str, Any]:
        return bodies.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(bridge(scope, receive, send))
    return sent


def body(chunk: bytes, more: bool = False) -> dict[str, Any]:
    return {"type": "http.request", "body": chunk, "more_body": more}


def test_environ_follows_pep_3333() -> None:
    """Given an ASGI scope, when converted, the environ is what a WSGI server would build."""
    environ = wsgi_environ(http_scope(), b"{}")

    assert {k: v for k, v in environ.items() if k not in ("wsgi.input", "asgi.scope")} == {
        "REQUEST_METHOD": "POST",
        "SCRIPT_NAME": "",
        "PATH_INFO": "/v1/provider-users/registrations",
        "QUERY_STRING": "a=1&b=%C3%A9",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "203.0.113.9",
        "REMOTE_PORT": "51234",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": "11",
        "HTTP_X_FORWARDED_FOR": "198.51.100.1,198.51.100.2",  # repeated headers join
        "HTTP_USER_AGENT": "café",  # latin-1, as PEP 3333 says
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    assert environ["wsgi.input"].read() == b"{}"


def test_header_names_with_underscores_never_reach_the_environ() -> None:
    """Given `_` spellings of real headers, when converted, only the real headers are there."""
    smuggled = [
        (b"content_type", b"text/plain"),
        (b"content_length", b"3"),
        (b"x_forwarded_for", b"192.0.2.66"),
    ]
    scope = http_scope(headers=[*smuggled, *http_scope()["headers"]])

    environ = wsgi_environ(scope, b"{}")

    assert {k: v for k, v in environ.items() if k.startswith(("HTTP_", "CONTENT_"))} == {
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": "11",
        "HTTP_X_FORWARDED_FOR": "198.51.100.1,198.51.100.2",
        "HTTP_USER_AGENT": "café",
    }


def test_root_path_moves_to_script_name() -> None:
    """Given a mounted app, when converted, the root path leaves PATH_INFO for SCRIPT_NAME."""
    environ = wsgi_environ(http_scope(root_path="/v1", path="/v1/health", client=None), b"")

    assert (environ["SCRIPT_NAME"], environ["PATH_INFO"]) == ("/v1", "/health")
    assert "REMOTE_ADDR" not in environ


def test_whole_body_reaches_the_view_and_the_answer_is_sent_whole() -> None:
    """Given a body in three chunks, when served, the view reads it all; one start, one body."""
    seen: dict[str, Any] = {}

    def view(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen["body"] = environ["wsgi.input"].read()
        seen["thread"] = threading.current_thread().name
        write = start_response("201 CREATED", [("Content-Type", "application/json")])
        write(b'{"a":')
        return [b"1", b"}"]

    sent = run(
        WSGIBridge(view, 2), http_scope(), [body(b'{"x"', True), body(b":", True), body(b"1}")]
    )

    assert seen["body"] == b'{"x":1}'
    assert seen["thread"].startswith("WSGI")
    assert sent == [
        {
            "type": "http.response.start",
            "status": 201,
            "headers": [(b"content-type", b"application/json")],
        },
        {"type": "http.response.body", "body": b'{"a":1}'},
    ]


def test_error_replaces_unsent_headers_and_closes_the_answer() -> None:
    """Given a view that starts, then reports an error, the client gets only the error."""
    closed = []

    class Answer(list[bytes]):
        def close(self) -> None:
            closed.append(True)

    def view(environ: dict[str, Any], start_response: Any) -> Answer:
        start_response("200 OK", [("X-Partial", "yes")])
        start_response("500 INTERNAL SERVER ERROR", [("Content-Length", "4")], (None, None, None))
        return Answer([b"oops"])

    sent = run(WSGIBridge(view, 1), http_scope(method="GET"), [body(b"")])

    assert sent[0] == {
        "type": "http.response.start",
        "status": 500,
        "headers": [(b"content-length", b"4")],
    }
    assert sent[1]["body"] == b"oops"
    assert closed == [True]


def test_a_view_failing_after_start_sends_nothing_and_raises() -> None:
    """Given an answer that fails mid-way, no half answer goes out and the answer is closed."""
    # The error goes on to Connexion's error layer, which answers a 500 problem (a2wsgi had
    # already sent the 200 start by then, and could only cut the connection).
    closed = []

    class Answer:
        def __iter__(self):  # noqa: ANN204
            yield b'{"partial": '
            raise RuntimeError("view failed mid-answer")

        def close(self) -> None:
            closed.append(True)

    def view(environ: dict[str, Any], start_response: Any) -> Answer:
        start_response("200 OK", [("Content-Type", "application/json")])
        return Answer()

    sent: list[Any] = []

    async def serve() -> None:
        async def receive() -> dict[str, Any]:
            return body(b"")

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await WSGIBridge(view, 1)(http_scope(method="GET"), receive, send)

    with pytest.raises(RuntimeError, match="mid-answer"):
        asyncio.run(serve())
    assert (sent, closed) == ([], [True])


def test_second_start_without_error_is_a_bug() -> None:
    """Given a view that calls start_response twice, the bridge refuses (PEP 3333)."""

    def view(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [])
        start_response("200 OK", [])
        return []

    with pytest.raises(AssertionError, match="twice"):
        run(WSGIBridge(view, 1), http_scope(), [body(b"")])


def test_client_gone_before_body_runs_nothing() -> None:
    """Given a client that hangs up mid-body, the view never runs and nothing is sent."""
    calls = []

    def view(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        calls.append(environ)
        return []

    sent = run(WSGIBridge(view, 1), http_scope(), [body(b"{", True), {"type": "http.disconnect"}])

    assert (calls, sent) == ([], [])


def test_view_sees_the_request_context_vars() -> None:
    """Given a context var set on the loop (a request id), the view's thread sees it."""
    seen = []

    def view(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.append(REQUEST_ID.get())
        start_response("204 NO CONTENT", [])
        return []

    async def serve() -> None:
        REQUEST_ID.set("req-42")

        async def receive() -> dict[str, Any]:
            return body(b"")

        async def send(message: dict[str, Any]) -> None:
            return None

        await WSGIBridge(view, 1)(http_scope(method="GET"), receive, send)

    asyncio.run(serve())
    assert seen == ["req-42"]
