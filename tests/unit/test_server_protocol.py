"""How the service is served: arrival stamps per request, read deadlines, a frozen heap."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import uvicorn

from handlers.middleware import ARRIVED_AT, COMPLETED_AT, now
from handlers.server import server_protocol
from tests.e2e.conftest import free_port, server_environment

APP_STARTED = threading.Event()  # set by echo_arrival as it starts on a request


async def echo_arrival(scope, receive, send) -> None:  # noqa: ANN001
    """Reads the body; answers with the server's stamps and when the application started."""
    if scope["type"] != "http":
        return
    started = now()
    APP_STARTED.set()
    while (await receive()).get("more_body"):
        pass
    stamps = scope.get("extensions", {})
    body = json.dumps(
        {
            "arrived": stamps.get(ARRIVED_AT),
            "completed": stamps.get(COMPLETED_AT),
            "started": started,
        }
    ).encode()
    length = (b"content-length", str(len(body)).encode())
    await send({"type": "http.response.start", "status": 200, "headers": [length]})
    await send({"type": "http.response.body", "body": body})


BIG_ANSWER_CHUNKS = 64  # of 1 MiB: far more than the kernel's buffers on both sides hold


async def big_answer(scope, receive, send) -> None:  # noqa: ANN001
    """Answers with BIG_ANSWER_CHUNKS MiB, as fast as the connection takes them."""
    if scope["type"] != "http":
        return
    length = (b"content-length", str(BIG_ANSWER_CHUNKS << 20).encode())
    await send({"type": "http.response.start", "status": 200, "headers": [length]})
    chunk = b"x" * (1 << 20)
    for _ in range(BIG_ANSWER_CHUNKS):
        await send({"type": "http.response.body", "body": chunk, "more_body": True})
    await send({"type": "http.response.body", "body": b""})


@contextmanager
def serving(
    read_timeout: float = 5, keep_alive: float = 5, app: Any = echo_arrival
) -> Iterator[int]:
    """uvicorn with the service's protocol in front of `app`; yields its port."""
    port = free_port()
    config = uvicorn.Config(
        app,
        port=port,
        http=server_protocol(read_timeout, max_in_flight=1000),
        timeout_keep_alive=keep_alive,
        lifespan="off",
        log_level="error",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_each_request_carries_when_the_server_took_it_in() -> None:
    # Given uvicorn with the service's protocol in front of an app that echoes the stamp
    # When two requests come over one kept-alive connection
    with serving() as port, httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
        answers = [client.get("/").json() for _ in range(2)]

    # Then each has its own stamp, taken before the application started on it
    assert all(isinstance(a["arrived"], float) for a in answers)
    assert all(0 <= a["started"] - a["arrived"] < 1 for a in answers)
    assert answers[0]["arrived"] < answers[1]["arrived"]


def test_a_request_carries_when_its_last_byte_came_in() -> None:
    # Given a client that sends its headers, then, once the application has the request, its body
    head = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n"
    with serving() as port, socket.create_connection(("127.0.0.1", port), timeout=10) as client:
        APP_STARTED.clear()
        client.sendall(head)
        assert APP_STARTED.wait(10)
        time.sleep(0.2)
        body_sent = now()  # the server runs in this process, on the same clock
        client.sendall(b"{}")
        answer = json.loads(client.recv(65536).partition(b"\r\n\r\n")[2])

    # Then the request was handed on at its headers and completed with its body
    assert answer["arrived"] < body_sent <= answer["completed"]


def test_a_half_sent_request_behind_another_is_cut_off_at_its_read_deadline() -> None:
    # Given a one-second read deadline and a much longer keep-alive
    with (
        serving(read_timeout=1, keep_alive=30) as port,
        socket.create_connection(("127.0.0.1", port), timeout=10) as client,
    ):
        # When a whole request and the start of a second one come in one write
        started = time.monotonic()
        client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HT")
        assert client.recv(65536).startswith(b"HTTP/1.1 200")
        # and the client then goes quiet
        while client.recv(65536):
            pass
        waited = time.monotonic() - started

    # Then the connection closes at the second request's read deadline, not at keep-alive's
    assert 0.9 <= waited < 5


def test_a_client_that_stops_reading_is_dropped_at_the_read_deadline() -> None:
    # Given a one-second deadline and an answer far larger than the buffers between the two
    with (
        serving(read_timeout=1, keep_alive=30, app=big_answer) as port,
        socket.create_connection(("127.0.0.1", port), timeout=10) as client,
    ):
        # When the client asks, then reads nothing for longer than the deadline
        client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(3)
        received = 0
        while chunk := client.recv(1 << 20):
            received += len(chunk)

    # Then the server had dropped it: only what the buffers held arrived, then the close
    assert 0 < received < (BIG_ANSWER_CHUNKS << 20) // 2


def test_the_served_app_leaves_its_startup_objects_out_of_garbage_collection() -> None:
    # Given the module the container serves (`gunicorn ... wsgi:app`), imported afresh
    script = "import gc, wsgi; print(gc.get_freeze_count())"
    env = {**server_environment(free_port()), "WEB_PAGES": "off"}

    # When it has built the app
    done = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )

    # Then the app's long-lived objects (spec, validators, AWS models) are frozen: a full
    # collection no longer walks them while requests wait on the event loop
    assert done.returncode == 0, done.stderr
    assert int(done.stdout.split()[-1]) > 50_000
