"""Registration and initiateRecovery answer before their work is done; a full queue is 503."""

from __future__ import annotations

import threading
from dataclasses import replace

from core.background import BoundedExecutor
from core.config import Settings
from core.wiring import build_services
from handlers.app import create_app
from tests.support.background import drain
from tests.support.data import ALICE, BUSY, initiate_body, registration_body
from tests.support.mail import read_outbox

PROCESSED = {"message": "request processed"}


class HeldIdentity:
    """The real identity adapter, whose user creation waits until the test releases it."""

    def __init__(self, inner: object) -> None:
        self._inner = inner
        self.release = threading.Event()

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)

    def create_user(self, *args: object) -> None:
        assert self.release.wait(30)
        self._inner.create_user(*args)  # type: ignore[attr-defined]


def test_registration_answers_before_its_work_is_done(aws: Settings) -> None:
    # Given Cognito holds every user creation until the test lets it go
    base = build_services(aws)
    held = HeldIdentity(base.registration.identity)
    app = create_app(aws, replace(base, registration=replace(base.registration, identity=held)))
    with app.test_client() as client:  # a client that does not wait for background work
        # When Alice registers
        answer = client.post(
            "/v1/provider-users/registration", json=registration_body(ALICE, "alice@example.com")
        )
        # Then she has her answer while her account is still being created: no mail yet
        assert (answer.status_code, answer.json()) == (200, PROCESSED)
        assert read_outbox(aws.outbox_dir) == []
        # And once Cognito answers, the work completes: her invitation arrives
        held.release.set()
        drain(app)
    [invitation] = read_outbox(aws.outbox_dir)
    assert (invitation.to, invitation.subject) == ("alice@example.com", "Your provider account")


def test_a_full_queue_answers_503_to_every_caller_alike(aws: Settings) -> None:
    # Given the background executor's one thread and one queue place are taken
    busy = BoundedExecutor(workers=1, queue_size=1, name="busy")
    gate, started = threading.Event(), threading.Event()

    def hold() -> None:
        started.set()
        assert gate.wait(30)

    assert busy.submit("test", hold)
    assert started.wait(30)
    assert busy.submit("test", hold)
    app = create_app(aws, replace(build_services(aws), background=busy))
    requests = [
        ("registration", registration_body(ALICE, "alice@example.com")),
        (
            "registration",
            {**registration_body(ALICE, "alice@example.com"), "partialSocial": "0000"},
        ),
        ("initiateRecovery", initiate_body(ALICE, "alice@example.com", "Any-Password-1!")),
    ]
    with app.test_client() as client:
        # When registrations (matching a license or not) and an initiate come
        answers = [client.post(f"/v1/provider-users/{op}", json=body) for op, body in requests]
    # Then each is the same retryable 503, and nothing was done
    for answer in answers:
        assert answer.status_code == 503
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.headers["retry-after"] == "5"
        assert answer.json() == BUSY
    assert read_outbox(aws.outbox_dir) == []
    gate.set()
    assert busy.shutdown(30)
