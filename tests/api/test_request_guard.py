"""Bodies reach handlers validated or not at all; every parser failure is a 400 problem."""

from __future__ import annotations

import json
import logging

import pytest
from prometheus_client import REGISTRY

from tests.support.data import ALICE, initiate_body, registration_body
from tests.support.mail import read_outbox

# Bodies are refused before any AWS call; the tests that register someone have their own AWS.
pytestmark = pytest.mark.shared_aws

PROBLEM = "application/problem+json"
UNSUPPORTED = {
    "type": "about:blank",
    "title": "Unsupported Media Type",
    "status": 415,
    "detail": "The request body must be sent as application/json",
    "message": "The request body must be sent as application/json",
}


def bad_request(detail: str) -> dict[str, object]:
    """The whole 400 problem body with this detail."""
    return {
        "type": "about:blank",
        "title": "Bad Request",
        "status": 400,
        "detail": detail,
        "message": detail,
    }


NOT_JSON = bad_request("The request body is not valid JSON")
VERIFY = {
    "compact": "aslp",
    "providerId": ALICE["providerId"],
    "recoveryToken": 0,  # a number where the spec wants a string
    "recaptchaToken": "ok",
}
# Every operation with a body, each body wrong in one type, and the message validation gives.
OPERATIONS = [
    (
        "/v1/provider-users/registration",
        {**registration_body(ALICE, "quillon@example.test"), "email": 0},
        "'email' must be of type string",
    ),
    (
        "/v1/provider-users/initiateRecovery",
        {**initiate_body(ALICE, "quillon@example.test", "Long-Enough-Pass-1"), "username": 0},
        "'username' must be of type string",
    ),
    ("/v1/provider-users/verifyRecovery", VERIFY, "'recoveryToken' must be of type string"),
]
ACCEPTED = [
    [("content-type", "application/json")],
    [("content-type", "application/JSON")],
    [("content-type", "Application/Json; charset=UTF-8")],
    [("content-type", 'application/json;charset="utf-8"')],
]
REFUSED = [
    [],
    [("content-type", "text/plain")],
    [("content-type", "application/json; charset=latin-1")],
    [("content-type", "application/json; boundary=x")],
    [("content-type", "application/problem+json")],
    [("content-type", "+json")],
    [("content-type", "application/x-www-form-urlencoded")],
    [("content-type", "application/JSON"), ("content-type", "+json")],
    [("content-type", "application/json"), ("content-type", "application/json")],
]


@pytest.mark.parametrize(("url", "body", "detail"), OPERATIONS)
def test_every_content_type_spelling_is_either_validated_or_refused(client, aws, url, body, detail):
    # When a body of the wrong types is sent under every spelling of a content type
    answers = {
        repr(headers): client.post(url, content=json.dumps(body), headers=headers)
        for headers in ACCEPTED + REFUSED
    }

    # Then each spelling of JSON we accept is validated, every other one refused unread
    invalid = bad_request(detail)
    expected = {repr(h): (400, PROBLEM, invalid) for h in ACCEPTED}
    expected |= {repr(h): (415, PROBLEM, UNSUPPORTED) for h in REFUSED}
    assert {
        spelling: (a.status_code, a.headers["content-type"], a.json())
        for spelling, a in answers.items()
    } == expected
    assert read_outbox(aws.outbox_dir) == []


NESTED_ARRAYS = "[" * 5_000 + "]" * 5_000
PARSER_FAILURES = {
    "5,000 nested arrays": NESTED_ARRAYS,
    "nesting inside a field": '{"givenName": ' + "[" * 1_500 + "]" * 1_500 + "}",
    "nested objects": '{"a": ' * 2_000 + "1" + "}" * 2_000,
    "an integer of 4,301 digits": '{"givenName": ' + "7" * 4_301 + "}",
    "a truncated body": '{"givenName": "x"',
    "not JSON at all": "{not json",
}


@pytest.mark.parametrize("body", PARSER_FAILURES.values(), ids=PARSER_FAILURES.keys())
def test_every_parser_failure_is_a_400_problem_without_a_traceback(client, aws, caplog, body):
    caplog.set_level(logging.DEBUG)

    answer = client.post(
        "/v1/provider-users/registration",
        content=body.encode(),
        headers={"content-type": "application/json"},
    )

    assert (answer.status_code, answer.headers["content-type"]) == (400, PROBLEM)
    assert answer.json()["title"] == "Bad Request"
    assert answer.json()["status"] == 400
    assert [r for r in caplog.records if r.exc_info or r.levelno >= logging.WARNING] == []
    assert read_outbox(aws.outbox_dir) == []


def test_deep_nesting_and_huge_integers_say_the_body_is_not_json(client):
    for body in (NESTED_ARRAYS, '{"givenName": ' + "7" * 4_301 + "}"):
        answer = client.post(
            "/v1/provider-users/registration",
            content=body.encode(),
            headers={"content-type": "application/json"},
        )

        assert answer.json() == NOT_JSON


def test_an_unexpected_error_is_logged_with_its_traceback_and_counted(client, caplog, monkeypatch):
    # (verifyRecovery answers from its own work; registration answers before its work runs)
    import core.services.recovery as recovery

    def explode(*_args, **_kwargs):  # noqa: ANN002, ANN003, ANN202
        raise RuntimeError("internal detail")

    monkeypatch.setattr(recovery.link_tokens, "parse", explode)
    sample = ("provider_accounts_server_errors_total", {"error": "RuntimeError"})
    before = REGISTRY.get_sample_value(*sample) or 0.0

    answer = client.post(
        "/v1/provider-users/verifyRecovery",
        json={
            "compact": "aslp",
            "providerId": "89a6377e-c3a5-40e5-bca5-317ec854c570",
            "recoveryToken": "some-id.some-secret",
            "recaptchaToken": "ok",
        },
    )

    assert (answer.status_code, answer.headers["content-type"]) == (500, PROBLEM)
    assert "internal detail" not in answer.text
    assert REGISTRY.get_sample_value(*sample) == before + 1
    failures = [r for r in caplog.records if r.exc_info]
    assert [r.getMessage() for r in failures] == ["request failed: RuntimeError"]


@pytest.mark.parametrize("path", ["/v1//health", "/v1//provider-users/me", "/v1/ui//"])
def test_a_path_with_a_double_slash_is_404(client, path):
    answer = client.get(path, headers={"host": "attacker.example"}, follow_redirects=False)

    assert (answer.status_code, answer.headers["content-type"]) == (404, PROBLEM)
    assert answer.json() == {
        "type": "about:blank",
        "title": "Not Found",
        "status": 404,
        "detail": "Not found",
        "message": "Not found",
    }


def test_the_trailing_slash_redirect_never_names_the_callers_host(client):
    answer = client.get("/v1/ready/", headers={"host": "attacker.example"}, follow_redirects=False)

    assert answer.status_code == 307
    assert answer.headers["location"] == "/v1/ready"


@pytest.mark.parametrize(
    ("field", "value", "detail"),
    [
        ("partialSocial", "6183\n", "'partialSocial' does not match the pattern ^[0-9]{4}$"),
        ("dob", "1979-08-23\n", "'dob' is not a valid date"),
        ("email", "q" * 65 + "@example.test", "'email' is not a valid email"),
        ("email", "quillon@example.test\r\nBcc: x@example.test", "'email' is not a valid email"),
        ("email", "quillon@example.test,x@example.test", "'email' is not a valid email"),
    ],
)
def test_values_that_only_look_right_are_refused(client, aws, field, value, detail):
    body = {**registration_body(ALICE, "quillon@example.test"), field: value}

    answer = client.post("/v1/provider-users/registration", json=body)

    assert answer.json() == bad_request(detail)
    assert read_outbox(aws.outbox_dir) == []


@pytest.mark.own_aws  # registers Alice
def test_a_64_character_local_part_is_still_an_email(client, aws):
    body = registration_body(ALICE, "q" * 64 + "@example.test")

    answer = client.post("/v1/provider-users/registration", json=body)

    assert answer.status_code == 200


def test_an_undeclared_method_is_still_405_and_a_bodiless_post_to_a_body_operation_415(client):
    undeclared = client.post("/v1/health")
    bodiless = client.post("/v1/provider-users/registration")

    assert undeclared.status_code == 405
    assert sorted(undeclared.headers["allow"].split(", ")) == ["GET", "HEAD"]
    assert (bodiless.status_code, bodiless.json()) == (415, UNSUPPORTED)


LENGTH_REQUIRED = {
    "type": "about:blank",
    "title": "Length Required",
    "status": 411,
    "detail": "Send the request body with a Content-Length header",
    "message": "Send the request body with a Content-Length header",
}


@pytest.mark.parametrize(
    "path",
    [
        "/v1/provider-users/registration",
        "/v1/provider-users/initiateRecovery",
        "/v1/provider-users/verifyRecovery",
        "/v1/provider-users/cancelRecovery",
    ],
)
def test_a_chunked_body_without_a_length_is_411_not_a_missing_body(client, path):
    """Given a body sent in chunks, when posted, the answer says why (Connexion saw no body)."""
    chunks = iter([b'{"compact": ', b'"aslp"}'])

    answer = client.post(path, content=chunks, headers={"content-type": "application/json"})

    assert answer.request.headers["transfer-encoding"] == "chunked"
    assert (answer.status_code, answer.headers["content-type"]) == (411, PROBLEM)
    assert answer.json() == LENGTH_REQUIRED


@pytest.mark.own_aws  # registers Alice
def test_a_chunked_registration_changes_nothing_and_the_same_body_with_a_length_registers(
    client, aws
):
    """Given a valid registration, chunked it is refused and mails nothing; with a length, not."""
    body = json.dumps(registration_body(ALICE, "quillon@example.test")).encode()
    json_type = {"content-type": "application/json"}

    chunked = client.post(
        "/v1/provider-users/registration", content=iter([body]), headers=json_type
    )
    assert (chunked.status_code, read_outbox(aws.outbox_dir)) == (411, [])

    whole = client.post("/v1/provider-users/registration", content=body, headers=json_type)
    assert whole.status_code == 200
    assert [mail.to for mail in read_outbox(aws.outbox_dir)] == ["quillon@example.test"]


@pytest.mark.own_aws  # registers Alice
@pytest.mark.parametrize(
    "smuggled",
    [("Content_Type", "text/plain"), ("Content_Length", "3"), ("content_type", "a/b/c")],
)
def test_an_underscore_spelling_of_a_body_header_changes_nothing(client, aws, smuggled):
    """Given a valid registration with a `_` twin of Content-Type or Content-Length, it registers.

    Flask's environ once joined the twin to the real header: Connexion failed on the value (500).
    """
    body = json.dumps(registration_body(ALICE, "quillon@example.test")).encode()

    answer = client.post(
        "/v1/provider-users/registration",
        content=body,
        headers=[smuggled, ("content-type", "application/json")],
    )

    assert (answer.status_code, answer.json()) == (200, {"message": "request processed"})
    assert [mail.to for mail in read_outbox(aws.outbox_dir)] == ["quillon@example.test"]
