"""GoogleRecaptcha with a fake HTTP session: it fails closed on anything but a clear yes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
import requests

from core.adapters.recaptcha import GoogleRecaptcha, LocalRecaptcha

URL = "https://www.google.com/recaptcha/api/siteverify"


@dataclass
class FakeResponse:
    payload: Any
    status: int = 200

    def raise_for_status(self) -> None:
        if self.status >= 400:
            raise requests.HTTPError(f"{self.status} error")

    def json(self) -> Any:
        if isinstance(self.payload, Exception):
            raise self.payload
        return self.payload


@dataclass
class FakeSession:
    """Answers every post with `answer` (or raises it), recording what was posted."""

    answer: FakeResponse | Exception
    posts: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def post(self, url: str, **kwargs: Any) -> FakeResponse:
        self.posts.append((url, kwargs))
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def verify(answer: FakeResponse | Exception, remote_ip: str | None = "203.0.113.7") -> bool:
    return GoogleRecaptcha("s3cret", URL, 0.5, session=FakeSession(answer)).verify("tok", remote_ip)


def test_it_posts_secret_response_and_remote_ip_with_a_five_second_timeout() -> None:
    session = FakeSession(FakeResponse({"success": True}))

    assert GoogleRecaptcha("s3cret", URL, 0.5, session=session).verify("tok", "203.0.113.7")

    assert session.posts == [
        (
            URL,
            {
                "data": {"secret": "s3cret", "response": "tok", "remoteip": "203.0.113.7"},
                "timeout": 5.0,
            },
        )
    ]


def test_without_a_remote_ip_none_is_posted() -> None:
    session = FakeSession(FakeResponse({"success": True}))
    GoogleRecaptcha("s3cret", URL, 0.5, session=session).verify("tok", None)
    assert session.posts[0][1]["data"] == {"secret": "s3cret", "response": "tok"}


@pytest.mark.parametrize(
    ("answer", "accepted"),
    [
        (FakeResponse({"success": True}), True),
        (FakeResponse({"success": True, "score": 0.9}), True),
        (FakeResponse({"success": True, "score": 0.5}), True),
        (FakeResponse({"success": True, "score": 0.49}), False),
        (FakeResponse({"success": True, "score": "high"}), False),
        (FakeResponse({"success": True, "score": True}), False),
        (FakeResponse({"success": False, "error-codes": ["invalid-input-response"]}), False),
        (FakeResponse({"success": "true"}), False),
        (FakeResponse({}), False),
        (FakeResponse(["success"]), False),
        (FakeResponse(ValueError("not JSON")), False),
        (FakeResponse({"success": True}, status=500), False),
        (requests.ConnectionError("network down"), False),
        (requests.Timeout("read timed out"), False),
    ],
    ids=[
        "success",
        "high score",
        "score at the minimum",
        "low score",
        "score not a number",
        "score a boolean",
        "success false",
        "success not a boolean",
        "empty answer",
        "answer not an object",
        "answer not JSON",
        "HTTP 500",
        "network error",
        "timeout",
    ],
)
def test_only_a_clear_success_is_accepted(answer: FakeResponse | Exception, accepted: bool) -> None:
    assert verify(answer) is accepted


def test_the_local_stand_in_rejects_only_the_literal_fail() -> None:
    local = LocalRecaptcha()
    assert local.verify("anything", None) is True
    assert local.verify("fail", "127.0.0.1") is False
