"""Initiating recovery: every outcome, all silent; only a full proof sends a one-time link."""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from core import emails
from core.errors import ServiceError, UpstreamFailed, UpstreamUnavailable
from core.models import MailMessage, PendingRecovery, Provider, RiskContext
from core.services.recovery import InitiateRequest, RecoveryDeps, initiate_recovery
from core.token_hashing import Argon2TokenHasher
from tests.support.data import ALICE, BOB
from tests.support.fake_identity import FakeIdentity
from tests.support.fakes import (
    FakeAttemptCounter,
    FakeProviderStore,
    MutableClock,
    RecordingMailer,
)
from tests.support.leaks import remember
from tests.unit.conftest import ALICE_EMAIL, ALICE_PASSWORD, UI, facts_of

_LINK = re.compile(r"^(https://\S+)$", re.MULTILINE)
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$")


def request(
    username: str = ALICE_EMAIL,
    password: str = ALICE_PASSWORD,
    token: str = "ok",
    person: dict[str, str] = ALICE,
    **changes: object,
) -> InitiateRequest:
    return InitiateRequest(facts_of(person, **changes), username, password, token, "203.0.113.9")


def link_token(
    message: MailMessage, provider: Provider, page: str = "verify", name: str = "recoveryToken"
) -> str:
    """The token of the mail's link to `page`, checking the link's other parameters."""
    links = [link for link in _LINK.findall(message.text) if f"/{page}#" in link]
    assert len(links) == 1, message.text
    parts = urlsplit(links[0])
    assert (parts.scheme, parts.netloc, parts.path, parts.query) == (
        "https",
        "app.example.test",
        f"/account-recovery/{page}",
        "",
    )
    params = parse_qs(parts.fragment, strict_parsing=True)
    assert set(params) == {"compact", "providerId", name}
    assert params["compact"] == [provider.compact]
    assert params["providerId"] == [provider.provider_id]
    (token,) = params[name]
    return remember(token)


def pending(providers: FakeProviderStore, provider: Provider) -> PendingRecovery | None:
    return providers.records[(provider.compact, provider.provider_id)].pending_recovery


def test_a_complete_proof_sends_a_one_time_link(
    recovery_deps: RecoveryDeps,
    registered_alice: Provider,
    providers: FakeProviderStore,
    identity: FakeIdentity,
    mailer: RecordingMailer,
    hasher: Argon2TokenHasher,
    clock: MutableClock,
    links: emails.Links,
    outcomes,
) -> None:
    # Given Alice, registered, proves who she is with a mixed-case email and her password
    # When she initiates recovery
    initiate_recovery(request(username=" Quillon.Vantreska@EXAMPLE.test "), recovery_deps)
    # Then her password was checked against her user, which is left as it was
    assert identity.calls == [("password_is_valid", ALICE_EMAIL)]
    assert identity.risks == [RiskContext("203.0.113.9")]  # Cognito judges the caller's address
    assert identity.users[ALICE_EMAIL].mfa_device == "lost phone"
    # And one mail, to her registered address, carries the link
    (message,) = mailer.sent
    token = link_token(message, registered_alice)
    cancel_token = link_token(message, registered_alice, "not-me", "cancelToken")
    link = f"{UI}/account-recovery/verify#compact=aslp&providerId={ALICE['providerId']}"
    not_me = f"{UI}/account-recovery/not-me#compact=aslp&providerId={ALICE['providerId']}"
    assert message == emails.recovery_confirmation(
        ALICE_EMAIL,
        "Quillon",
        f"{link}&recoveryToken={token}",
        15,
        links,
        not_me=f"{not_me}&cancelToken={cancel_token}",
    )
    # And the token is a 16-byte public id and a 32-byte secret, url-safe; the id and only a
    # hash of the secret are stored, for 15 minutes
    assert _TOKEN.match(token)
    token_id, _, secret = token.partition(".")
    stored = pending(providers, registered_alice)
    assert stored is not None
    assert (stored.token_id, stored.expires_at) == (token_id, clock() + timedelta(minutes=15))
    assert secret not in stored.token_hash
    assert hasher.verify(stored.token_hash, secret)
    assert providers.event_types(registered_alice) == ["recovery_requested"]
    # And so is the "Not me" link's, for 7 days
    cancel_id, _, cancel_secret = cancel_token.partition(".")
    not_me_link = providers.not_me_links[("aslp", ALICE["providerId"], cancel_id)]
    assert (not_me_link.issued_at, not_me_link.token.expires_at) == (
        clock(),
        clock() + timedelta(days=7),
    )
    assert cancel_secret not in not_me_link.token.token_hash
    assert hasher.verify(not_me_link.token.token_hash, cancel_secret)
    assert outcomes() == [("initiate_recovery", "sent")]


def test_a_new_request_replaces_the_pending_token(
    recovery_deps: RecoveryDeps,
    registered_alice: Provider,
    providers: FakeProviderStore,
    mailer: RecordingMailer,
    hasher: Argon2TokenHasher,
    clock: MutableClock,
) -> None:
    # Given Alice initiated recovery once
    initiate_recovery(request(), recovery_deps)
    first = link_token(mailer.sent[0], registered_alice)
    # When she initiates again five minutes later
    clock.advance(minutes=5)
    initiate_recovery(request(), recovery_deps)
    # Then a second, different link is sent, and only its token matches what is stored
    second = link_token(mailer.sent[1], registered_alice)
    assert mailer.recipients() == [ALICE_EMAIL, ALICE_EMAIL]
    assert first != second
    stored = pending(providers, registered_alice)
    assert stored is not None
    assert hasher.verify(stored.token_hash, second.partition(".")[2])
    assert not hasher.verify(stored.token_hash, first.partition(".")[2])
    assert stored.token_id == second.partition(".")[0] != first.partition(".")[0]
    assert stored.expires_at == clock() + timedelta(minutes=15)


def test_no_new_link_while_a_verify_holds_the_record(
    recovery_deps: RecoveryDeps,
    registered_alice: Provider,
    providers: FakeProviderStore,
    mailer: RecordingMailer,
    clock: MutableClock,
    outcomes,
) -> None:
    # Given a verify of Alice's link is in flight (it holds the claim)
    initiate_recovery(request(), recovery_deps)
    stored = pending(providers, registered_alice)
    providers.claim(
        providers.get(registered_alice.compact, registered_alice.provider_id),
        "verify-in-flight",
        clock(),
        clock() + timedelta(seconds=60),
        token_hash=stored.token_hash,
    )
    # When she initiates again meanwhile
    initiate_recovery(request(), recovery_deps)
    # Then no second link: the verify would have consumed it unseen
    assert mailer.recipients() == [ALICE_EMAIL]
    assert pending(providers, registered_alice) == stored
    assert outcomes()[-1] == ("initiate_recovery", "in_progress")


@pytest.mark.parametrize(
    "changes",
    [{"ssn_last_four": "0000"}, {"given_name": "Quill"}, {"jurisdiction": "co"}],
    ids=["ssn", "name", "jurisdiction"],
)
def test_facts_matching_no_license_do_nothing(
    changes: dict[str, object],
    recovery_deps: RecoveryDeps,
    registered_alice: Provider,
    attempts: FakeAttemptCounter,
    identity: FakeIdentity,
    mailer: RecordingMailer,
    outcomes,
) -> None:
    initiate_recovery(request(**changes), recovery_deps)
    assert (attempts.attempts, identity.calls, mailer.sent) == ({}, [], [])
    assert outcomes() == [("initiate_recovery", "no_match")]


def test_three_requests_an_hour_per_provider_then_the_window_slides(
    recovery_deps: RecoveryDeps,
    registered_alice: Provider,
    providers: FakeProviderStore,
    identity: FakeIdentity,
    mailer: RecordingMailer,
    clock: MutableClock,
    outcomes,
) -> None:
    # Given Alice initiated recovery three times just now
    for _ in range(3):
        initiate_recovery(request(), recovery_deps)
    third = pending(providers, registered_alice)
    identity.calls.clear()
    # When she tries again 30 minutes and 59:59 later, she is refused, without a password check
    clock.advance(minutes=30)
    initiate_recovery(request(), recovery_deps)
    clock.advance(minutes=29, seconds=59)
    initiate_recovery(request(), recovery_deps)
    assert identity.calls == []
    assert len(mailer.sent) == 3
    assert pending(providers, registered_alice) == third
    # When the first three leave the hour's window, the next request is sent
    clock.advance(seconds=1)
    initiate_recovery(request(), recovery_deps)
    assert mailer.recipients() == [ALICE_EMAIL] * 4
    assert [outcome for _, outcome in outcomes()] == ["sent"] * 3 + ["rate_limited"] * 2 + ["sent"]


def test_the_limit_is_per_provider(
    recovery_deps: RecoveryDeps,
    registered_alice: Provider,
    bob: Provider,
    providers: FakeProviderStore,
    attempts: FakeAttemptCounter,
    outcomes,
) -> None:
    # Given Alice used her three requests, and Bob is registered too
    for _ in range(3):
        initiate_recovery(request(), recovery_deps)
    providers.add(replace(bob, registered_email="zephrine@example.test"))
    # When Bob asks, his own count starts at one (his password is wrong: nothing is sent)
    initiate_recovery(request(username="zephrine@example.test", person=BOB), recovery_deps)
    assert outcomes()[-1] == ("initiate_recovery", "bad_password")
    assert {key: len(moments) for key, moments in attempts.attempts.items()} == {
        f"initiate#aslp#{ALICE['providerId']}": 3,
        f"initiate#octp#{BOB['providerId']}": 1,
    }


def test_a_stranger_with_the_license_facts_alone_cannot_spend_the_limit(
    recovery_deps: RecoveryDeps,
    registered_alice: Provider,
    attempts: FakeAttemptCounter,
    mailer: RecordingMailer,
    clock: MutableClock,
    outcomes,
) -> None:
    # Given a stranger with Alice's license facts asks ten times, with another email
    for _ in range(10):
        initiate_recovery(request(username="stranger@elsewhere.test"), recovery_deps)
    # When Alice asks, with her email and password
    initiate_recovery(request(), recovery_deps)
    # Then her link is sent: none of the stranger's requests counted
    assert mailer.recipients() == [ALICE_EMAIL]
    assert [outcome for _, outcome in outcomes()] == ["email_mismatch"] * 10 + ["sent"]
    assert attempts.attempts == {f"initiate#aslp#{ALICE['providerId']}": [clock()]}


def test_retrying_while_refused_does_not_lengthen_the_wait(
    recovery_deps: RecoveryDeps,
    registered_alice: Provider,
    mailer: RecordingMailer,
    clock: MutableClock,
    outcomes,
) -> None:
    # Given Alice's three requests of the hour were spent at once
    for _ in range(3):
        initiate_recovery(request(), recovery_deps)
    # When she keeps asking every quarter of an hour, refused
    for _ in range(3):
        clock.advance(minutes=15)
        initiate_recovery(request(), recovery_deps)
    # Then the hour after the first three, her request goes through all the same
    clock.advance(minutes=15, seconds=1)
    initiate_recovery(request(), recovery_deps)
    assert [outcome for _, outcome in outcomes()] == ["sent"] * 3 + ["rate_limited"] * 3 + ["sent"]
    assert len(mailer.sent) == 4


def test_an_unregistered_provider_gets_nothing(
    recovery_deps: RecoveryDeps,
    bob: Provider,
    providers: FakeProviderStore,
    identity: FakeIdentity,
    mailer: RecordingMailer,
    outcomes,
) -> None:
    initiate_recovery(request(username="zephrine@example.test", person=BOB), recovery_deps)
    assert (identity.calls, mailer.sent) == ([], [])
    assert providers.records[(bob.compact, bob.provider_id)] == bob
    assert outcomes() == [("initiate_recovery", "not_registered")]


def test_another_email_than_the_registered_one_gets_nothing(
    recovery_deps: RecoveryDeps,
    registered_alice: Provider,
    providers: FakeProviderStore,
    identity: FakeIdentity,
    mailer: RecordingMailer,
    outcomes,
) -> None:
    # When someone with Alice's facts and password names another email
    initiate_recovery(request(username="quillon@elsewhere.test"), recovery_deps)
    # Then no password is checked against any user and nothing is sent or stored
    assert (identity.calls, mailer.sent) == ([], [])
    assert pending(providers, registered_alice) is None
    assert outcomes() == [("initiate_recovery", "email_mismatch")]


def test_a_wrong_password_gets_nothing(
    recovery_deps: RecoveryDeps,
    registered_alice: Provider,
    providers: FakeProviderStore,
    identity: FakeIdentity,
    mailer: RecordingMailer,
    outcomes,
) -> None:
    initiate_recovery(request(password="Orchid-Lantern-48!"), recovery_deps)
    assert identity.calls == [("password_is_valid", ALICE_EMAIL)]
    assert mailer.sent == []
    assert pending(providers, registered_alice) is None
    assert providers.event_types(registered_alice) == []
    assert outcomes() == [("initiate_recovery", "bad_password")]


@pytest.mark.parametrize(
    ("fake", "method"),
    [
        ("licenses", "find_match"),
        ("providers", "get"),
        ("attempts", "record_within"),
        ("identity", "password_is_valid"),
        ("providers", "store_recovery_token"),
        ("mailer", "send"),
    ],
)
@pytest.mark.parametrize("error", [UpstreamUnavailable(), UpstreamFailed()])
def test_a_failing_dependency_is_logged_and_swallowed(
    fake: str,
    method: str,
    error: ServiceError,
    recovery_deps: RecoveryDeps,
    registered_alice: Provider,
    mailer: RecordingMailer,
    caplog: pytest.LogCaptureFixture,
    outcomes,
) -> None:
    # Given one AWS call of the way fails
    getattr(recovery_deps, fake).fail_next(method, error)
    # When Alice initiates recovery, nothing is raised: the caller answers as always
    initiate_recovery(request(), recovery_deps)
    # Then no mail was sent and the failure is logged as an error
    assert mailer.sent == []
    assert outcomes() == [("initiate_recovery", "upstream_error")]
    levels = {r.levelno for r in caplog.records if r.name == "provider_accounts.outcomes"}
    assert levels == {logging.ERROR}


def test_the_frontends_context_data_reaches_the_password_check(
    recovery_deps: RecoveryDeps, registered_alice: Provider, identity: FakeIdentity
) -> None:
    # Given the frontend sent Cognito's encoded user context data, and the browser its header
    agent = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0 Safari/537.36"
    initiate_recovery(
        replace(request(), user_agent=agent, user_context_data="ZW5jb2RlZA=="), recovery_deps
    )
    # Then the password check carried both, with the caller's address
    assert identity.risks == [RiskContext("203.0.113.9", agent, "ZW5jb2RlZA==")]
