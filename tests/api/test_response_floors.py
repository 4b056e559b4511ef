"""Response-time floors: declared in the spec, awaited on the event loop, holding no thread."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from core.config import Settings
from tests.support.data import ALICE, registration_body

INITIATE = {
    "username": "nobody@example.com",
    "password": "Not-the-password-1",
    "compact": "aslp",
    "jurisdiction": "oh",
    "givenName": "No",
    "familyName": "Body",
    "dob": "1970-01-01",
    "partialSocial": "0000",
    "licenseType": "audiologist",
    "recaptchaToken": "ok",
}
VERIFY_FLOOR_SECONDS = 3  # openapi.yaml, verifyRecovery
VERIFY = {
    "compact": "aslp",
    "providerId": ALICE["providerId"],
    "recoveryToken": "not-a-token",
    "recaptchaToken": "ok",
}


def floored_app(aws: Settings, **changes: object):  # noqa: ANN201
    """The app with floors on."""
    from handlers.app import create_app

    return create_app(aws.model_copy(update={"response_floors": "on", **changes}))


async def timed(client: httpx.AsyncClient, method: str, url: str, **kwargs: object):  # noqa: ANN201
    """(status, seconds) of one request."""
    started = time.monotonic()
    answer = await client.request(method, url, **kwargs)
    return answer.status_code, time.monotonic() - started


def test_each_operation_answers_no_sooner_than_its_floor(aws):
    # Given the app with floors on
    app = floored_app(aws)

    async def scenario():  # noqa: ANN202
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await asyncio.gather(
                timed(
                    client,
                    "POST",
                    "/v1/provider-users/registration",
                    json=registration_body(ALICE, "nobody@example.com") | {"dob": "1970-01-01"},
                ),
                timed(client, "POST", "/v1/provider-users/initiateRecovery", json=INITIATE),
                timed(client, "POST", "/v1/provider-users/verifyRecovery", json=VERIFY),
                timed(client, "GET", "/v1/health"),
            )

    # When one request of each kind arrives at once
    registration, initiate, verify, health = asyncio.run(scenario())

    # Then none answers before its floor, and health (no floor) answers at once
    assert [status for status, _ in (registration, initiate, verify, health)] == [
        200,
        200,
        400,
        200,
    ]
    assert 2.0 <= registration[1] < 3.5
    assert 5.0 <= initiate[1] < 6.5
    assert 3.0 <= verify[1] < 4.5
    assert health[1] < 1.0


@pytest.mark.parametrize("requests", [40])
def test_requests_waiting_out_a_floor_hold_no_worker_thread(aws, requests):
    # Given a single worker thread for the sync views
    app = floored_app(aws, worker_threads=1, initiate_recovery_ip_limit="1000 per minute")

    async def burst():  # noqa: ANN202
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            started = time.monotonic()
            answers = await asyncio.gather(
                *(
                    client.post("/v1/provider-users/initiateRecovery", json=INITIATE)
                    for _ in range(requests)
                )
            )
            return [a.status_code for a in answers], time.monotonic() - started

    # When 40 initiate requests that match nothing arrive together
    statuses, elapsed = asyncio.run(burst())

    # Then all finish together after one floor, not one floor after another
    assert statuses == [200] * requests
    assert 5.0 <= elapsed < 8.0


def test_the_request_log_tells_the_work_from_the_floor(aws, caplog):
    # Given the app with floors on
    app = floored_app(aws)
    caplog.set_level("INFO", logger="provider_accounts.requests")

    # When a verifyRecovery with an unknown token is answered after its floor
    async def scenario():  # noqa: ANN202
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await timed(client, "POST", "/v1/provider-users/verifyRecovery", json=VERIFY)

    status, seconds = asyncio.run(scenario())

    # Then its log line holds the whole time and, apart, the time before the floor
    [line] = [r for r in caplog.records if r.getMessage() == "request completed"]
    assert status == 400
    assert line.duration_ms >= 1000 * VERIFY_FLOOR_SECONDS - 1
    assert 0 < line.work_ms < line.duration_ms - 500
    assert line.duration_ms <= seconds * 1000 + 1


def test_the_floor_counts_from_when_the_server_took_the_request_in(aws):
    # Given the app with floors on, behind a server that took the request in, body and all,
    # 1.5 s ago (as under a burst, when the event loop reaches a request's first step late)
    from handlers.middleware import ARRIVED_AT, COMPLETED_AT, now

    app = floored_app(aws)

    async def taken_in_earlier(scope, receive, send):  # noqa: ANN001, ANN202
        arrived = now() - 1.5
        stamps = {ARRIVED_AT: arrived, COMPLETED_AT: arrived}
        await app({**scope, "extensions": stamps}, receive, send)

    async def scenario():  # noqa: ANN202
        transport = httpx.ASGITransport(app=taken_in_earlier)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await timed(client, "POST", "/v1/provider-users/verifyRecovery", json=VERIFY)

    # When a verifyRecovery (floor 3 s) is answered
    status, seconds = asyncio.run(scenario())

    # Then it waits out only what is left of its floor, not a whole floor from its first step
    assert status == 400
    assert VERIFY_FLOOR_SECONDS - 1.5 <= seconds < VERIFY_FLOOR_SECONDS - 0.5
