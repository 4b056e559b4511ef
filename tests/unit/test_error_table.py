"""One table turns every error into its problem; every layer renders it the same way."""

from __future__ import annotations

import asyncio
import inspect
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from starlette.exceptions import HTTPException

from core import errors
from core.config import Settings
from handlers.errors import (
    ERRORS,
    BodyTooLarge,
    UnsupportedMediaType,
    connexion_response,
    entry_for,
    flask_response,
    problem_for,
    send_problem,
)
from handlers.server import LIVENESS_PATH
from handlers.spec_extensions import FLOOR, IP_LIMIT, by_operation

SPEC = yaml.safe_load(Path(__file__).parents[2].joinpath("openapi/openapi.yaml").read_text())
SERVICE_ERRORS = [
    cls
    for _, cls in inspect.getmembers(errors, inspect.isclass)
    if issubclass(cls, errors.ServiceError)
]


@pytest.mark.parametrize(
    ("error", "status", "headers", "detail"),
    [
        (errors.InvalidRecoveryLink(), 400, {}, "Invalid or expired recovery link"),
        (
            errors.Unauthenticated(),
            401,
            {"WWW-Authenticate": 'Bearer realm="provider-accounts"'},
            "Authentication required",
        ),
        (errors.RecaptchaFailed(), 403, {}, "reCAPTCHA verification failed"),
        (
            errors.SessionPredatesRecovery(),
            403,
            {},
            "Sign in again to cancel this recovery: your session began before it was requested",
        ),
        (errors.NotFound(), 404, {}, "Not found"),
        (BodyTooLarge(), 413, {}, "The request body is larger than the limit"),
        (
            UnsupportedMediaType(),
            415,
            {},
            "The request body must be sent as application/json",
        ),
        (
            errors.RateLimited(retry_after=42),
            429,
            {"Retry-After": "42"},
            "Too many requests; try again later",
        ),
        (
            errors.UpstreamFailed(),
            500,
            {},
            "The request could not be completed; please retry",
        ),
        (
            errors.UpstreamUnavailable(),
            503,
            {"Retry-After": "5"},
            "A dependency is temporarily unavailable; please retry",
        ),
        (
            HTTPException(405, "Method Not Allowed", headers={"Allow": "GET, HEAD"}),
            405,
            {"Allow": "GET, HEAD"},
            "Method Not Allowed",
        ),
        (errors.ConditionFailed("username x@example.test is taken"), 500, {}, None),
        (KeyError("internal"), 500, {}, None),
    ],
)
def test_each_error_has_one_status_title_and_headers(
    error: Exception, status: int, headers: dict[str, str], detail: str | None
) -> None:
    problem = problem_for(error)

    assert (problem.status, problem.headers) == (
        status,
        {**headers, "Content-Type": "application/problem+json"},
    )
    body = json.loads(problem.body)
    assert body["status"] == status
    assert body["detail"] == (detail or "An unexpected error occurred")


def test_every_service_error_has_its_own_entry_and_condition_failed_is_not_one() -> None:
    def instance(cls: type[errors.ServiceError]) -> errors.ServiceError:
        return cls(retry_after=1) if cls is errors.RateLimited else cls()  # type: ignore[call-arg]

    fallback = ERRORS[errors.ServiceError]
    without_entry = [
        cls.__name__
        for cls in SERVICE_ERRORS
        if cls is not errors.ServiceError and entry_for(instance(cls)) is fallback
    ]

    assert without_entry == []
    assert not issubclass(errors.ConditionFailed, errors.ServiceError)


def test_connexion_flask_and_asgi_send_the_same_problem() -> None:
    error = errors.RateLimited(retry_after=7)
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(send_problem(send, error))
    connexion = connexion_response(None, error)  # type: ignore[arg-type]
    flask = flask_response(error)

    expected = problem_for(error)
    assert sent[0]["status"] == connexion.status_code == flask.status_code == 429
    assert sent[1]["body"] == connexion.body == flask.get_data() == expected.body
    assert dict(sent[0]["headers"])[b"retry-after"] == b"7"
    assert connexion.headers["Retry-After"] == flask.headers["Retry-After"] == "7"
    assert flask.headers["Content-Type"] == "application/problem+json"


def test_every_operation_with_a_floor_has_a_per_ip_limit_naming_a_setting() -> None:
    floors = by_operation(SPEC, FLOOR)
    limits = by_operation(SPEC, IP_LIMIT)

    assert floors, "the spec declares floors"
    assert set(floors) <= set(limits)
    for setting in limits.values():
        assert setting.lower() in Settings.model_fields, setting


def test_every_operation_the_cap_can_refuse_documents_the_503() -> None:
    base = SPEC["servers"][0]["url"].rstrip("/")
    capped = {
        (method, path): operation["responses"]
        for path, item in SPEC["paths"].items()
        for method, operation in item.items()
        if base + path != LIVENESS_PATH
    }

    assert len(capped) == 8
    for operation, responses in capped.items():
        assert "503" in responses, operation
