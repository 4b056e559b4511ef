"""Every kind of problem answer carries `message` equal to `detail`, whoever renders it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support.data import ALICE, registration_body

# Refused requests, and registrations that match no license: nothing is written to AWS.
pytestmark = pytest.mark.shared_aws

REGISTRATION = "/v1/provider-users/registration"
NOBODY = {**ALICE, "partialSocial": "0000"}
NOT_FOUND = (  # Flask's text for a path no route matches
    "The requested URL was not found on the server. If you entered the URL manually please "
    "check your spelling and try again."
)


def problem(status: int, detail: str, title: str) -> dict[str, Any]:
    """The whole body of a problem answer."""
    return {"type": "about:blank", "title": title, "status": status, "detail": detail,
            "message": detail}  # fmt: skip


def send(client: Any, kind: str) -> Any:
    """One request that ends in the problem of this kind."""
    if kind == "validation (Connexion)":
        return client.post(REGISTRATION, json={"givenName": "x"})
    if kind == "body not UTF-8 (our validator)":
        return client.post(
            REGISTRATION, content=b'{"a": "\xff"}', headers={"content-type": "application/json"}
        )
    if kind == "unknown query parameter (our validator)":
        return client.get("/v1/public/jurisdictions/live", params={"x": "1"})
    if kind == "no bearer token (security)":
        return client.get("/v1/provider-users/me")
    if kind == "unknown path (routing)":
        return client.get("/v1/nowhere")
    if kind == "wrong method (routing)":
        return client.get(REGISTRATION)
    if kind == "declared body too large (middleware)":
        return client.post(
            REGISTRATION,
            content=json.dumps({"givenName": "x" * 17_000}),
            headers={"content-type": "application/json"},
        )
    if kind == "wrong content type (request guard)":
        return client.post(REGISTRATION, content=b"{}", headers={"content-type": "text/plain"})
    raise AssertionError(kind)


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("validation (Connexion)", problem(400, "'familyName' is a required property",
                                           "Bad Request")),
        ("body not UTF-8 (our validator)", problem(400, "The request body is not valid UTF-8",
                                                   "Bad Request")),
        ("unknown query parameter (our validator)", problem(
            400, "The request has query parameters the operation does not take", "Bad Request")),
        ("no bearer token (security)", problem(401, "No authorization token provided",
                                               "Unauthorized")),
        ("unknown path (routing)", problem(404, NOT_FOUND, "Not Found")),
        ("wrong method (routing)", problem(405, "Method Not Allowed", "Method Not Allowed")),
        ("declared body too large (middleware)", problem(
            413, "The request body is larger than the limit", "Content Too Large")),
        ("wrong content type (request guard)", problem(
            415, "The request body must be sent as application/json", "Unsupported Media Type")),
    ],
)  # fmt: skip
def test_each_kind_of_problem_carries_message(client: Any, kind: str, expected: dict) -> None:
    # When a request ends in this kind of problem
    answer = send(client, kind)

    # Then the whole problem body has message equal to detail
    assert answer.status_code == expected["status"]
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json() == expected


def test_the_per_ip_limit_problem_carries_message(client: Any) -> None:
    # Given the per-IP registration limit (3 per 15 minutes) is used up
    for _ in range(3):
        assert client.post(REGISTRATION, json=registration_body(NOBODY, "n@example.com")).is_success

    # When one more registration arrives
    answer = client.post(REGISTRATION, json=registration_body(NOBODY, "n@example.com"))

    # Then the 429 problem (rendered by the limiter's handler) carries message too
    assert answer.status_code == 429
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json() == problem(429, "Too many requests; try again later", "Too Many Requests")
