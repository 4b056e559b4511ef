"""What operators rely on: request ids, readiness, CORS, headers, metrics off the API port."""

from __future__ import annotations

import logging
import re

import pytest
from prometheus_client import REGISTRY

from core.config import Settings
from core.logs import RequestContextFilter
from core.services.readiness import Readiness
from tests.support.background import draining_client
from tests.support.data import ALICE, registration_body

# Only the request-id test registers someone (it has its own AWS); the rest reads.
pytestmark = pytest.mark.shared_aws

FRONTEND = "https://app.example.test"


@pytest.mark.own_aws  # registers Alice
def test_a_valid_request_id_is_returned_and_stamped_on_every_line_of_the_request(
    client, caplog: pytest.LogCaptureFixture
):
    # Given the frontend tags a registration with its own id (and logs go through our filter)
    caplog.set_level(logging.INFO)
    caplog.handler.addFilter(RequestContextFilter())
    body = registration_body(ALICE, "alice@example.com")

    # When it is served
    answer = client.post(
        "/v1/provider-users/registration", json=body, headers={"X-Request-Id": "ui-7f3a.1"}
    )

    # Then the id comes back, and every line logged while serving it carries it, the lines
    # of the work it queued too (which may come after the answer)
    assert answer.headers["x-request-id"] == "ui-7f3a.1"
    ours = [r for r in caplog.records if getattr(r, "request_id", None) == "ui-7f3a.1"]
    messages = [r.getMessage() for r in ours]
    assert any("registration outcome=registered" in m for m in messages)
    assert any(m.startswith("mail written to outbox") for m in messages)
    assert messages.count("request completed") == 1
    during = [r for r in caplog.records if r.name.startswith(("core", "provider_accounts"))]
    assert {getattr(r, "request_id", None) for r in during} == {"ui-7f3a.1"}


@pytest.mark.parametrize("sent", [None, "", "has spaces", "x" * 129, "new\nline"])
def test_a_missing_or_unsafe_request_id_is_replaced_by_a_new_one(client, sent):
    headers = {} if sent is None else {"X-Request-Id": sent}

    answer = client.get("/v1/health", headers=headers)

    assert re.fullmatch(r"[0-9a-f]{32}", answer.headers["x-request-id"])


def test_error_answers_carry_a_request_id_and_the_security_headers(client):
    answer = client.post("/v1/provider-users/registration", json={"nope": 1})

    assert answer.status_code == 400
    assert answer.headers["x-request-id"]
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["referrer-policy"] == "no-referrer"
    assert answer.headers["cache-control"] == "no-store"


def test_health_has_security_headers_but_may_be_cached(client):
    answer = client.get("/v1/health")

    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["referrer-policy"] == "no-referrer"
    assert "cache-control" not in answer.headers


def test_metrics_are_not_served_on_the_api_port(client):
    assert client.get("/metrics").status_code == 404


def test_ready_when_tables_and_pool_answer(client):
    answer = client.get("/v1/ready")

    assert (answer.status_code, answer.json()) == (200, {"status": "ready"})


class Unreachable:
    name = "user_pool"

    def check(self) -> None:
        raise RuntimeError("timed out")


def test_not_ready_names_what_is_unreachable(aws: Settings):
    from handlers.app import create_app

    app = create_app(aws, readiness=Readiness([Unreachable()]))
    with draining_client(app) as client:
        answer = client.get("/v1/ready")

    assert answer.status_code == 503
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.headers["retry-after"] == "5"
    assert answer.json()["detail"] == "Not ready: user_pool unreachable"


@pytest.fixture
def cors_client(aws: Settings):  # noqa: ANN201
    from handlers.app import create_app

    with draining_client(
        create_app(aws.model_copy(update={"cors_allowed_origins": FRONTEND}))
    ) as c:
        yield c


def test_a_preflight_from_the_frontend_is_allowed_without_credentials(cors_client):
    answer = cors_client.options(
        "/v1/provider-users/me",
        headers={
            "Origin": FRONTEND,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization, x-request-id",
        },
    )

    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == FRONTEND
    assert "access-control-allow-credentials" not in answer.headers
    allowed = answer.headers["access-control-allow-headers"].lower()
    assert "authorization" in allowed
    assert "x-request-id" in allowed
    assert answer.headers["x-content-type-options"] == "nosniff"


def test_another_origin_gets_no_cors_grant(cors_client):
    preflight = cors_client.options(
        "/v1/provider-users/registration",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    simple = cors_client.get("/v1/health", headers={"Origin": "https://evil.example"})

    assert (preflight.status_code, preflight.headers["content-type"]) == (
        400,
        "application/problem+json",
    )
    assert preflight.json() == {
        "type": "about:blank",
        "title": "Bad Request",
        "status": 400,
        "detail": "Disallowed CORS origin",
        "message": "Disallowed CORS origin",
    }
    assert "access-control-allow-origin" not in preflight.headers
    assert "access-control-allow-origin" not in simple.headers


def test_a_cors_response_exposes_the_headers_the_spec_documents(cors_client):
    answer = cors_client.get("/v1/health", headers={"Origin": FRONTEND})

    assert answer.headers["access-control-allow-origin"] == FRONTEND
    exposed = answer.headers["access-control-expose-headers"].lower()
    assert "x-request-id" in exposed
    assert "retry-after" in exposed
    # And a 401's challenge, a 405's methods: a cross-origin frontend reads them too
    refused = cors_client.get("/v1/provider-users/me", headers={"Origin": FRONTEND})
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"].startswith("Bearer")
    assert "www-authenticate" in refused.headers["access-control-expose-headers"].lower()
    wrong_method = cors_client.post("/v1/health", headers={"Origin": FRONTEND})
    allowed = set(wrong_method.headers["allow"].split(", "))
    assert (wrong_method.status_code, allowed) == (405, {"GET", "HEAD"})
    assert "allow" in wrong_method.headers["access-control-expose-headers"].lower().split(", ")


def test_per_ip_refusals_are_counted_by_limit_and_logged_for_cloudwatch(client, caplog):
    def refused() -> float:
        value = REGISTRY.get_sample_value(
            "provider_accounts_rate_limited_total", {"limit": "ip_register_provider"}
        )
        return value or 0.0

    before = refused()
    body = registration_body(ALICE, "someone@example.com") | {"partialSocial": "0000"}
    statuses = [
        client.post("/v1/provider-users/registration", json=body).status_code for _ in range(4)
    ]

    assert statuses == [200, 200, 200, 429]
    assert refused() == before + 1
    # The line CloudWatch's RateLimited metric filter ({ $.outcome = "rate_limited" }) counts
    limited = [r for r in caplog.records if getattr(r, "outcome", None) == "rate_limited"]
    assert [(r.name, r.getMessage()) for r in limited] == [
        ("provider_accounts.outcomes", "register_provider outcome=rate_limited limit=ip")
    ]
