"""What every endpoint does with bad HTTP: size, encoding, content type, unknown fields."""

from __future__ import annotations

import json

import pytest

from handlers.context import EXTENSION_KEY
from tests.support.data import ALICE, registration_body
from tests.support.mail import read_outbox
from tests.support.problems import UNEXPECTED

# Every request here is refused before any AWS write.
pytestmark = pytest.mark.shared_aws

URL = "/v1/provider-users/registration"


def problem(answer) -> dict:  # noqa: ANN001
    """The problem+json body, after checking the content type."""
    assert answer.headers["content-type"] == "application/problem+json"
    return answer.json()


def test_health_is_ok(client):
    answer = client.get("/v1/health")

    assert (answer.status_code, answer.json()) == (200, {"status": "ok"})


def test_head_of_health_has_the_headers_of_its_get(client):
    # Given the health answer a GET gets
    got = client.get("/v1/health")

    # When a monitor asks with HEAD
    head = client.head("/v1/health")

    # Then it gets the same status and entity headers, and no body
    assert (head.status_code, head.content) == (200, b"")
    assert {k: head.headers[k] for k in ("content-type", "content-length")} == {
        "content-type": "application/json",
        "content-length": str(len(got.content)),
    }


def test_the_spec_and_swagger_ui_are_served(client):
    spec = client.get("/v1/openapi.json")
    ui = client.get("/v1/ui/")

    assert spec.status_code == 200
    assert spec.json()["paths"]["/provider-users/registration"]["post"]["operationId"] == (
        "registration.register_provider"
    )
    assert ui.status_code == 200
    assert "swagger-ui" in ui.text
    # And the UI's own files and its bare path, which Connexion's UI middleware alone serves
    assert client.get("/v1/ui/swagger-ui.css").headers["content-type"].startswith("text/css")
    bare = client.get("/v1/ui", follow_redirects=False)
    assert (bare.status_code, bare.headers["location"]) == (307, "/v1/ui/")


def test_a_body_over_16_kib_is_413_before_validation(client, aws):
    body = registration_body(ALICE, "alice@example.com")
    body["givenName"] = "x" * 17_000

    answer = client.post(URL, json=body)

    assert answer.status_code == 413
    assert problem(answer)["title"] == "Content Too Large"
    assert read_outbox(aws.outbox_dir) == []


def test_a_chunked_body_without_length_is_refused_unread(client):
    def chunks():  # noqa: ANN202
        yield b'{"givenName": "'
        yield b"x" * 20_000
        yield b'"}'

    answer = client.post(URL, content=chunks(), headers={"content-type": "application/json"})

    assert answer.status_code == 411  # before any read: not 413, nor Connexion's "no body" 400
    assert problem(answer)["detail"] == "Send the request body with a Content-Length header"


def test_the_size_limit_also_counts_bytes_as_they_stream_in():
    # Given an app behind the limit that reads its whole body
    import asyncio

    from handlers.errors import BodyTooLarge
    from handlers.middleware import BodySizeLimitMiddleware

    async def reader(scope, receive, send):  # noqa: ANN001, ANN202
        while (await receive()).get("more_body"):
            pass

    middleware = BodySizeLimitMiddleware(reader, max_bytes=16_384)
    messages = [{"type": "http.request", "body": b"x" * 4096, "more_body": True}] * 5

    async def receive():  # noqa: ANN202
        return messages.pop()

    async def send(_message):  # noqa: ANN001, ANN202
        raise AssertionError("nothing is sent before the error handler runs")

    # When more than the limit arrives without a Content-Length
    # Then reading stops with BodyTooLarge, which the error table maps to 413
    with pytest.raises(BodyTooLarge):
        asyncio.run(middleware({"type": "http", "headers": []}, receive, send))


def test_a_body_that_is_not_utf8_is_400(client):
    answer = client.post(
        URL, content=b'{"givenName": "\xff\xfe"}', headers={"content-type": "application/json"}
    )

    assert answer.status_code == 400
    assert problem(answer)["detail"] == "The request body is not valid UTF-8"


def test_a_body_that_is_not_json_is_400(client):
    answer = client.post(URL, content=b"{not json", headers={"content-type": "application/json"})

    assert answer.status_code == 400
    assert problem(answer)["status"] == 400


def test_the_wrong_content_type_is_415(client):
    answer = client.post(
        URL,
        content=json.dumps(registration_body(ALICE, "a@example.com")),
        headers={"content-type": "text/plain"},
    )

    assert answer.status_code == 415
    assert problem(answer)["status"] == 415


def test_unknown_fields_are_400_without_echoing_their_names(client):
    body = {**registration_body(ALICE, "alice@example.com"), "isAdmin<script>": True}

    answer = client.post(URL, json=body)

    assert answer.status_code == 400
    assert problem(answer) == {
        "type": "about:blank",
        "title": "Bad Request",
        "status": 400,
        "detail": "'body' has properties that are not allowed",
        "message": "'body' has properties that are not allowed",
    }


@pytest.mark.parametrize(
    ("field", "value", "detail"),
    [
        ("dob", "1979-02-30", "'dob' is not a valid date"),
        ("dob", "19790823", "'dob' is not a valid date"),
        ("partialSocial", "61a3", "'partialSocial' does not match the pattern ^[0-9]{4}$"),
        ("jurisdiction", "OH", None),
        ("licenseType", "occupational therapist", None),
        ("email", "not-an-email", "'email' is not a valid email"),
    ],
)
def test_invalid_fields_are_400_and_the_detail_never_echoes_the_value(
    client, aws, field, value, detail
):
    body = {**registration_body(ALICE, "alice@example.com"), field: value}

    answer = client.post(URL, json=body)

    assert answer.status_code == 400
    body_detail = problem(answer)["detail"]
    if detail:
        assert body_detail == detail
    assert value not in body_detail
    assert read_outbox(aws.outbox_dir) == []


def test_an_unexpected_exception_is_a_500_that_reveals_nothing(app, client, monkeypatch):
    def explode(*_args, **_kwargs):  # noqa: ANN002, ANN003, ANN202
        raise RuntimeError("secret internals: table provider-accounts at 10.0.0.1")

    # reCAPTCHA is what registration still does before it answers
    monkeypatch.setattr(app.app.extensions[EXTENSION_KEY].registration.recaptcha, "verify", explode)

    answer = client.post(URL, json=registration_body(ALICE, "alice@example.com"))

    assert answer.status_code == 500
    assert problem(answer) == UNEXPECTED
