"""What our own middlewares raise is still the API's 500 problem+json, logged and counted."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from prometheus_client import REGISTRY

from handlers.middleware import LastResortMiddleware
from tests.support.problems import UNEXPECTED

# The failure is injected into the reference pages' file lookup: nothing here writes to AWS.
pytestmark = pytest.mark.shared_aws

SAMPLE = ("provider_accounts_server_errors_total", {"error": "RuntimeError"})


def explode(*_args: Any, **_kwargs: Any) -> None:
    raise RuntimeError("internal detail")


def test_an_error_raised_outside_connexion_is_a_problem_with_id_and_headers(
    client, caplog, monkeypatch
):
    # Given the reference pages' middleware failing on an asset lookup (before Connexion)
    import handlers.web_pages as web_pages

    monkeypatch.setattr(web_pages, "_asset_file", explode)
    caplog.set_level("INFO")
    before = REGISTRY.get_sample_value(*SAMPLE) or 0.0

    # When an asset is asked for
    answer = client.get("/assets/site.css", headers={"x-request-id": "last-resort-1"})

    # Then the answer is the error table's 500, with the request id and the security headers
    assert (answer.status_code, answer.headers["content-type"]) == (500, "application/problem+json")
    assert answer.json() == UNEXPECTED
    assert answer.headers["x-request-id"] == "last-resort-1"
    assert answer.headers["x-content-type-options"] == "nosniff"
    # And it is counted, its traceback logged once, and the request line says 500
    assert REGISTRY.get_sample_value(*SAMPLE) == before + 1
    failures = [r for r in caplog.records if r.exc_info]
    assert [r.getMessage() for r in failures] == ["request failed: RuntimeError"]
    [line] = [r for r in caplog.records if r.getMessage() == "request completed"]
    assert (line.status, line.path) == (500, "/assets/site.css")


def test_an_error_after_the_answer_started_sends_nothing_more_and_is_counted(caplog):
    # Given an inner app that starts its answer and then fails
    async def fails_midway(_scope: Any, _receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        explode()

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    before = REGISTRY.get_sample_value(*SAMPLE) or 0.0

    # When a request goes through the last resort
    asyncio.run(LastResortMiddleware(fails_midway)({"type": "http"}, None, send))

    # Then no second answer is started, and the failure is counted and logged
    assert [m["type"] for m in sent] == ["http.response.start"]
    assert REGISTRY.get_sample_value(*SAMPLE) == before + 1
    assert [r.getMessage() for r in caplog.records if r.exc_info] == [
        "request failed: RuntimeError"
    ]
