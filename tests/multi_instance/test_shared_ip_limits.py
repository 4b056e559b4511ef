"""Two instances share per-IP limits through Redis, and each limits on its own while Redis is down.

Each phase sends its requests as a different client (X-Forwarded-For from the trusted
loopback proxy), so each starts with a fresh limit key. Registrations match no license: they
pass validation (so they count) and change nothing.
"""

from __future__ import annotations

import time

import httpx
import pytest
import redis as redis_client

from tests.multi_instance.conftest import AppServer, RedisServer
from tests.support.data import ALICE, registration_body

pytestmark = pytest.mark.e2e

LIMIT = 3  # REGISTRATION_IP_LIMIT="3 per 15 minutes" in conftest.server_environment
REGISTRATION = registration_body(ALICE, "nobody@example.com") | {"dob": "1970-01-01"}
OUTAGE_WARNING = "Rate limit storage unreachable - falling back to in-memory storage"
RECOVERED = "Rate limit storage recovered"
RECOVERY_TIMEOUT_SECONDS = 70  # flask-limiter re-checks a dead store with backoff up to 32 s


def register(server: AppServer, client_ip: str) -> httpx.Response:
    """One registration request through the trusted proxy, as `client_ip`."""
    return httpx.post(
        f"{server.url}/provider-users/registration",
        json=REGISTRATION,
        headers={"X-Forwarded-For": client_ip},
        timeout=10,
    )


def statuses(answers: list[httpx.Response]) -> list[int]:
    """The status codes, in order."""
    return [answer.status_code for answer in answers]


def assert_too_many(answer: httpx.Response) -> None:
    """A 429 problem with a Retry-After within the 15-minute window (rounded up)."""
    assert answer.status_code == 429
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json() == {
        "type": "about:blank",
        "title": "Too Many Requests",
        "status": 429,
        "detail": "Too many requests; try again later",
        "message": "Too many requests; try again later",
    }
    assert 1 <= int(answer.headers["retry-after"]) <= 15 * 60 + 1


def wait_until_logged(server: AppServer, text: str, poke_ip: str, timeout: float) -> None:
    """Send readiness checks (limited by nothing) until the server logs `text`.

    flask-limiter only re-checks a dead store while Flask handles a request, with a growing
    pause; /v1/ready is a Flask view (liveness is answered before Flask and would not do).
    """
    deadline = time.monotonic() + timeout
    while text not in server.log():
        if time.monotonic() > deadline:
            pytest.fail(f"server {server.name} never logged {text!r}:\n{server.log()[-3000:]}")
        httpx.get(f"{server.url}/ready", headers={"X-Forwarded-For": poke_ip}, timeout=5)
        time.sleep(0.25)


def test_instances_share_limits_fall_back_alone_and_share_again(
    instances: tuple[AppServer, AppServer], redis_server: RedisServer
) -> None:
    a, b = instances

    # Given two instances on one Redis
    # When one client registers twice through A and once through B
    shared = [register(a, "203.0.113.10"), register(a, "203.0.113.10")]
    shared.append(register(b, "203.0.113.10"))
    # Then all three pass, and the fourth is refused whichever instance gets it
    assert statuses(shared) == [200, 200, 200]
    assert_too_many(register(a, "203.0.113.10"))
    assert_too_many(register(b, "203.0.113.10"))
    # And the count lives in Redis, not in either process
    with redis_client.Redis(port=redis_server.port, socket_timeout=2) as store:
        assert any(b"203.0.113.10" in key for key in store.keys("*"))

    # Given Redis goes away
    redis_server.stop()
    # When another client registers through each instance
    via_a = [register(a, "203.0.113.20") for _ in range(LIMIT + 1)]
    via_b = [register(b, "203.0.113.20") for _ in range(LIMIT + 1)]
    # Then both keep answering, each counting on its own (LIMIT each, not LIMIT in all)
    assert statuses(via_a)[:LIMIT] == [200] * LIMIT
    assert statuses(via_b)[:LIMIT] == [200] * LIMIT
    assert_too_many(via_a[-1])
    assert_too_many(via_b[-1])
    # And each logs the outage
    for server in (a, b):
        assert OUTAGE_WARNING in server.log(), server.log()[-3000:]
        assert httpx.get(f"{server.url}/health", timeout=5).json() == {"status": "ok"}

    # Given Redis is back on the same port (empty: nothing was saved)
    redis_server.start()
    for server in (a, b):
        wait_until_logged(server, RECOVERED, "198.51.100.1", RECOVERY_TIMEOUT_SECONDS)
    # When a third client registers twice through B and once through A
    again = [register(b, "203.0.113.30"), register(b, "203.0.113.30")]
    again.append(register(a, "203.0.113.30"))
    # Then the instances share the count again
    assert statuses(again) == [200, 200, 200]
    assert_too_many(register(a, "203.0.113.30"))
    assert_too_many(register(b, "203.0.113.30"))
