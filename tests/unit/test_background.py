"""The answer does not wait on the work: the bounded executor and the two services using it."""

from __future__ import annotations

import contextvars
import functools
import gc
import threading
import time
import weakref
from dataclasses import replace

import pytest
from prometheus_client import REGISTRY

from core.background import BoundedExecutor
from core.errors import Overloaded, RecaptchaFailed, UpstreamUnavailable
from core.models import Provider, RequestOrigin
from core.services.recovery import InitiateRequest, RecoveryDeps, accept_initiate
from core.services.registration import (
    RegistrationDeps,
    RegistrationRequest,
    accept_registration,
)
from tests.support.data import ALICE
from tests.support.fake_identity import FakeIdentity
from tests.support.fakes import FakeRecaptcha, RecordingMailer
from tests.unit.conftest import ALICE_EMAIL, ALICE_PASSWORD, facts_of

WAIT = 5.0
# Stands in for Flask's context variables: work is queued from inside a request.
CURRENT_REQUEST: contextvars.ContextVar[object] = contextvars.ContextVar("current_request")


def registration(token: str = "ok", **changes: object) -> RegistrationRequest:
    origin = RequestOrigin("198.51.100.7")
    return RegistrationRequest(facts_of(ALICE, **changes), ALICE_EMAIL, token, origin)


def initiate(token: str = "ok") -> InitiateRequest:
    return InitiateRequest(facts_of(ALICE), ALICE_EMAIL, ALICE_PASSWORD, token, "203.0.113.9")


def background_count(operation: str, result: str) -> float:
    labels = {"operation": operation, "result": result}
    return REGISTRY.get_sample_value("provider_accounts_background_work_total", labels) or 0.0


class Gate:
    """Work that waits until the test opens the gate, to hold the executor's threads."""

    def __init__(self) -> None:
        self.opened = threading.Event()
        self.started = threading.Semaphore(0)

    def work(self) -> None:
        self.started.release()
        assert self.opened.wait(WAIT)


def fill(executor: BoundedExecutor, gate: Gate, workers: int, queue_size: int) -> None:
    """Occupy every thread and every queue place."""
    for _ in range(workers):
        assert executor.submit("test", gate.work)
    for _ in range(workers):
        assert gate.started.acquire(timeout=WAIT)
    for _ in range(queue_size):
        assert executor.submit("test", gate.work)


def test_work_runs_in_the_background_and_wait_idle_waits_for_it(
    background: BoundedExecutor,
) -> None:
    gate, done = Gate(), []
    # Given work that blocks, submitted with more work behind it
    assert background.submit("test", gate.work)
    assert background.submit("test", lambda: done.append("second"))
    # Then submitting returned at once, and the executor is not idle while the gate is shut
    assert background.wait_idle(0.05) is False
    # When the gate opens, wait_idle returns once everything finished
    gate.opened.set()
    assert background.wait_idle(WAIT) is True
    assert done == ["second"]


def test_a_full_executor_refuses_at_once_and_counts_it() -> None:
    # Given an executor whose one thread and one queue place are taken
    executor = BoundedExecutor(workers=1, queue_size=1, name="full")
    gate = Gate()
    fill(executor, gate, workers=1, queue_size=1)
    rejected = background_count("test", "rejected")
    # When more work comes, it is refused and counted
    assert executor.submit("test", gate.work) is False
    assert background_count("test", "rejected") == rejected + 1
    # And once the work drains, the executor takes work again
    gate.opened.set()
    assert executor.wait_idle(WAIT)
    assert executor.submit("test", lambda: None)
    assert executor.shutdown(WAIT)


def test_failed_work_is_logged_without_its_text_and_the_worker_goes_on(
    background: BoundedExecutor, caplog: pytest.LogCaptureFixture
) -> None:
    failed, done = background_count("test", "failed"), []

    def fails() -> None:
        raise UpstreamUnavailable("text that could quote someone@example.test")

    # Given work that fails, then work that does not
    assert background.submit("test", fails)
    assert background.submit("test", lambda: done.append(1))
    assert background.wait_idle(WAIT)
    # Then the failure is logged by its type only and counted, and the next work ran
    assert background_count("test", "failed") == failed + 1
    assert done == [1]
    lines = [r.getMessage() for r in caplog.records if r.name == "core.background"]
    assert lines == ["background test failed: UpstreamUnavailable"]


class Request:
    """Stands in for the request that queued work (its body may hold a password)."""


def handle(request: Request) -> None:
    """Work on behalf of a request: here, nothing."""


def released(reference: weakref.ref[Request]) -> bool:
    """Whether the object is gone, once nothing holds it (collected; polled: a wait, not a
    timing check, since the worker lets go just after it reports the work finished)."""
    deadline = time.monotonic() + WAIT
    while reference() is not None and time.monotonic() < deadline:
        gc.collect()
        time.sleep(0.01)
    return reference() is None


def test_finished_work_keeps_nothing_of_its_request_alive(background: BoundedExecutor) -> None:
    # Given work that holds its request, queued from the request's context
    request = Request()
    reference = weakref.ref(request)
    token = CURRENT_REQUEST.set(request)
    try:
        assert background.submit("test", functools.partial(handle, request))
    finally:
        CURRENT_REQUEST.reset(token)
    del request
    # When the work has finished and the thread waits for more
    assert background.wait_idle(WAIT)
    # Then neither the work nor the context it ran in is still held by the idle thread
    assert released(reference)


def test_shutdown_lets_queued_work_finish_and_refuses_new_work() -> None:
    executor, done = BoundedExecutor(workers=1, queue_size=4, name="closing"), []
    for number in range(3):
        assert executor.submit("test", lambda n=number: done.append(n))
    assert executor.shutdown(WAIT) is True
    assert done == [0, 1, 2]
    assert executor.submit("test", lambda: done.append(9)) is False


def test_registration_answers_before_its_work_is_done(
    registration_deps: RegistrationDeps,
    background: BoundedExecutor,
    identity: FakeIdentity,
    mailer: RecordingMailer,
    outcomes,
) -> None:
    # Given Cognito is slow: creating a user waits until the test lets it go
    gate = threading.Event()
    create = identity.create_user

    def slow_create(*args: object) -> None:
        assert gate.wait(WAIT)
        create(*args)  # type: ignore[arg-type]

    identity.create_user = slow_create  # type: ignore[method-assign]
    # When Alice registers, the call returns while the work still waits on Cognito
    accept_registration(registration(), registration_deps, background)
    assert (mailer.sent, outcomes()) == ([], [])
    # Then, once Cognito answers, the work completes: an invitation and the outcome
    gate.set()
    assert background.wait_idle(WAIT)
    assert mailer.recipients() == [ALICE_EMAIL]
    assert outcomes() == [("registration", "registered")]


def test_a_failed_recaptcha_refuses_registration_and_queues_nothing(
    registration_deps: RegistrationDeps,
    recaptcha: FakeRecaptcha,
    identity: FakeIdentity,
    mailer: RecordingMailer,
    outcomes,
) -> None:
    executor = BoundedExecutor(workers=1, queue_size=1, name="unused")
    with pytest.raises(RecaptchaFailed, match="reCAPTCHA verification failed"):
        accept_registration(registration(token="fail"), registration_deps, executor)
    assert recaptcha.checked == [("fail", "198.51.100.7")]
    assert executor.wait_idle(0) is True
    assert (mailer.sent, identity.calls) == ([], [])
    assert outcomes() == [("registration", "recaptcha_failed")]


def test_a_failed_recaptcha_answers_initiate_as_usual_and_queues_nothing(
    recovery_deps: RecoveryDeps,
    registered_alice: Provider,
    recaptcha: FakeRecaptcha,
    identity: FakeIdentity,
    mailer: RecordingMailer,
    outcomes,
) -> None:
    executor = BoundedExecutor(workers=1, queue_size=1, name="unused")
    accept_initiate(initiate(token="fail"), recovery_deps, executor)
    assert recaptcha.checked == [("fail", "203.0.113.9")]
    assert executor.wait_idle(0) is True
    assert (mailer.sent, identity.calls) == ([], [])
    assert outcomes() == [("initiate_recovery", "recaptcha_failed")]


@pytest.mark.parametrize(
    "facts", [{}, {"ssn_last_four": "0000"}], ids=["matching facts", "no match"]
)
def test_a_full_queue_refuses_everyone_alike_with_overloaded(
    facts: dict[str, object],
    registration_deps: RegistrationDeps,
    recovery_deps: RecoveryDeps,
    registered_alice: Provider,
    mailer: RecordingMailer,
    outcomes,
) -> None:
    # Given the executor is full
    executor = BoundedExecutor(workers=1, queue_size=1, name="full")
    gate = Gate()
    fill(executor, gate, workers=1, queue_size=1)
    # When a registration and an initiate come, whatever their facts
    with pytest.raises(Overloaded) as registering:
        accept_registration(registration(**facts), registration_deps, executor)
    request = initiate()
    with pytest.raises(Overloaded) as initiating:
        accept_initiate(replace(request, facts=facts_of(ALICE, **facts)), recovery_deps, executor)
    # Then both are refused with the same retryable message, and nothing was done
    assert str(registering.value) == str(initiating.value)
    assert str(registering.value) == "The service is busy; please retry in a moment"
    assert mailer.sent == []
    assert outcomes() == [("registration", "overloaded"), ("initiate_recovery", "overloaded")]
    gate.opened.set()
    assert executor.shutdown(WAIT)


def test_a_failed_registration_in_the_background_is_logged_as_upstream_error(
    registration_deps: RegistrationDeps,
    background: BoundedExecutor,
    identity: FakeIdentity,
    mailer: RecordingMailer,
    outcomes,
) -> None:
    # Given Cognito fails once
    identity.fail_next("create_user", UpstreamUnavailable())
    # When Alice registers, the call returns normally
    accept_registration(registration(), registration_deps, background)
    assert background.wait_idle(WAIT)
    # Then the failure is logged and counted as the attempt's outcome, and nothing was sent
    assert mailer.sent == []
    assert outcomes() == [("registration", "upstream_error")]
    # And trying again registers her
    accept_registration(registration(), registration_deps, background)
    assert background.wait_idle(WAIT)
    assert mailer.recipients() == [ALICE_EMAIL]
    assert outcomes()[-1] == ("registration", "registered")
