"""How the service is served: arrival stamps per request, a frozen startup heap."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

import httpx
import uvicorn

from handlers.middleware import ARRIVED_AT, now
from handlers.server import read_deadline_protocol
from tests.e2e.conftest import free_port, server_environment


async def echo_arrival(scope, receive, send) -> None:  # noqa: ANN001
    """Answers with the stamp the server left and the time the application started on it."""
    if scope["type"] != "http":
        return
    started = now()
    body = json.dumps({"arrived": scope.get("extensions", {}).get(ARRIVED_AT), "started": started})
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body.encode()})


def test_each_request_carries_when_the_server_took_it_in() -> None:
    # Given uvicorn with the service's protocol in front of an app that echoes the stamp
    port = free_port()
    config = uvicorn.Config(
        echo_arrival, port=port, http=read_deadline_protocol(5), lifespan="off", log_level="error"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.02)

        # When two requests come over one kept-alive connection
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            answers = [client.get("/").json() for _ in range(2)]
    finally:
        server.should_exit = True
        thread.join(timeout=10)

    # Then each has its own stamp, taken before the application started on it
    assert all(isinstance(a["arrived"], float) for a in answers)
    assert all(0 <= a["started"] - a["arrived"] < 1 for a in answers)
    assert answers[0]["arrived"] < answers[1]["arrived"]


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
