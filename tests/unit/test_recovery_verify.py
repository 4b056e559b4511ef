"""Verifying recovery: a valid link works once and recreates the user; failures can be retried."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

import pytest

from core import emails, link_tokens
from core.errors import InvalidRecoveryLink, RateLimited, RecaptchaFailed, UpstreamUnavailable
from core.models import MailMessage, PendingRecovery, Provider
from core.services.recovery import RecoveryDeps, VerifyRequest, verify_recovery
from core.token_hashing import Argon2TokenHasher
from tests.support.data import ALICE
from tests.support.fake_identity import FakeIdentity
from tests.support.fakes import (
    FakeAttemptCounter,
    FakeProviderStore,
    MutableClock,
    RecordingMailer,
)
from tests.unit.conftest import ALICE_EMAIL, ALICE_PASSWORD, temporary_password_in
from tests.unit.test_recovery_initiate import link_token

INVALID = "Invalid or expired recovery link"
ALICE_ATTRIBUTES = {
    "email": ALICE_EMAIL,
    "email_verified": "true",
    "custom:compact": "aslp",
    "custom:providerId": ALICE["providerId"],
}


def request(
    token: str, provider_id: str = ALICE["providerId"], compact: str = "aslp", captcha: str = "ok"
) -> VerifyRequest:
    return VerifyRequest(compact, provider_id, token, captcha, "192.0.2.44", "Firefox on Linux")


def issue_link(
    providers: FakeProviderStore, provider: Provider, hasher: Argon2TokenHasher, clock: MutableClock
) -> str:
    """Store a fresh pending link for the provider as initiate would; returns its token."""
    token, stored = link_tokens.issue(hasher, clock() + timedelta(minutes=15))
    pending = PendingRecovery(**vars(stored), requested_at=clock(), usable_from=clock())
    providers.store_recovery_token(provider, pending, clock())
    return str(token)


@pytest.fixture
def token(
    registered_alice: Provider,
    providers: FakeProviderStore,
    hasher: Argon2TokenHasher,
    clock: MutableClock,
) -> str:
    """Alice asked for recovery a minute ago: her link is pending for 14 more minutes."""
    issued = issue_link(providers, registered_alice, hasher, clock)
    clock.advance(minutes=1)
    return issued


class CountingHasher(Argon2TokenHasher):
    """The real hasher, counting how often it verifies (each one an argon2 computation)."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost_kib=1024, parallelism=1)
        self.verified = 0

    def verify(self, hashed: str, secret: str) -> bool:
        self.verified += 1
        return super().verify(hashed, secret)


def bogus_token() -> str:
    """A well-formed token that names no pending link."""
    return str(link_tokens.LinkToken(secrets.token_urlsafe(16), secrets.token_urlsafe(32)))


def with_secret_changed(token: str) -> str:
    """The same link id with a wrong secret: what only the link's holder could send."""
    token_id, _, secret = token.partition(".")
    return f"{token_id}.{secret[:-1]}{'A' if secret[-1] != 'A' else 'B'}"


def invitations(mailer: RecordingMailer) -> list[MailMessage]:
    return [m for m in mailer.sent if "Temporary password:" in m.text]


def record(providers: FakeProviderStore) -> Provider:
    return providers.records[("aslp", ALICE["providerId"])]


def assert_recovered(
    providers: FakeProviderStore,
    identity: FakeIdentity,
    mailer: RecordingMailer,
    clock: MutableClock,
) -> None:
    """Alice has a fresh user whose temporary password is the one in her last mail."""
    user = identity.user(ALICE_EMAIL)
    assert user is not None
    assert (user.attributes, user.status, user.mfa_device) == (
        ALICE_ATTRIBUTES,
        "FORCE_CHANGE_PASSWORD",
        None,
    )
    assert temporary_password_in(invitations(mailer)[-1]) == user.password
    stored = record(providers)
    assert (stored.recovered_at, stored.pending_recovery) == (clock(), None)
    assert (stored.claim_id, stored.claimed_until) == (None, None)
    assert stored.registered_email == ALICE_EMAIL
    assert providers.event_types(stored) == ["recovery_requested", "recovery_completed"]


def test_a_valid_link_recreates_the_user_and_sends_an_invitation(
    recovery_deps: RecoveryDeps,
    token: str,
    providers: FakeProviderStore,
    identity: FakeIdentity,
    mailer: RecordingMailer,
    clock: MutableClock,
    links: emails.Links,
    outcomes,
) -> None:
    # Given Alice's pending recovery token
    # When she opens her link
    verify_recovery(request(token), recovery_deps)
    # Then her user was deleted and created anew: old password and MFA device are gone
    assert identity.calls == [("delete_user", ALICE_EMAIL), ("create_user", ALICE_EMAIL)]
    assert not identity.password_is_valid(ALICE_EMAIL, ALICE_PASSWORD)
    # And one invitation, saying it follows a recovery, carries the new temporary password
    message, notice = mailer.sent
    password = temporary_password_in(message)
    assert message == emails.invitation(
        ALICE_EMAIL, "Quillon", "Vantreska", password, links, after_recovery=True
    )
    assert message.subject == "Your provider account was recovered"
    assert "Your account was recovered as requested" in message.text
    # And a separate notice says when (UTC and Ohio's time), from where, and how to undo it
    cancel_token = link_token(notice, record(providers), "not-me", "cancelToken")
    assert notice == emails.recovery_completed_notice(
        ALICE_EMAIL,
        "Quillon",
        "2025-03-04 09:31 UTC (2025-03-04 04:31 EST in OH)",
        "192.0.2.44",
        "Firefox on Linux",
        links.not_me("aslp", ALICE["providerId"], cancel_token),
    )
    # And its "Not me" link is stored as a hash, issued at the recovery, for 7 days
    cancel_id = cancel_token.partition(".")[0]
    stored_link = providers.not_me_links[("aslp", ALICE["providerId"], cancel_id)]
    assert (stored_link.issued_at, stored_link.token.expires_at) == (
        clock(),
        clock() + timedelta(days=7),
    )
    # And the token and claim are gone, and the recovery is stamped and logged
    assert_recovered(providers, identity, mailer, clock)
    assert outcomes() == [("verify_recovery", "completed")]


def test_a_used_link_does_not_work_again(
    recovery_deps: RecoveryDeps,
    token: str,
    identity: FakeIdentity,
    mailer: RecordingMailer,
    outcomes,
) -> None:
    # Given Alice used her link
    verify_recovery(request(token), recovery_deps)
    identity.calls.clear()
    # When it is opened again
    with pytest.raises(InvalidRecoveryLink) as raised:
        verify_recovery(request(token), recovery_deps)
    # Then it is refused like any bad link, and nothing more happens
    assert (str(raised.value), raised.value.message) == (INVALID, INVALID)
    assert identity.calls == []
    assert len(mailer.sent) == 2  # the invitation and the completion notice, no more
    assert outcomes()[-1] == ("verify_recovery", "no_pending_token")


def test_a_failed_recaptcha_is_refused_before_anything_counts(
    recovery_deps: RecoveryDeps,
    token: str,
    attempts: FakeAttemptCounter,
    identity: FakeIdentity,
    mailer: RecordingMailer,
    providers: FakeProviderStore,
    outcomes,
) -> None:
    before = record(providers)
    with pytest.raises(RecaptchaFailed):
        verify_recovery(request(token, captcha="fail"), recovery_deps)
    assert (attempts.attempts, identity.calls, mailer.sent) == ({}, [], [])
    assert record(providers) == before
    assert outcomes() == [("verify_recovery", "recaptcha_failed")]


def test_a_third_try_with_the_link_id_within_15_minutes_is_rate_limited(
    recovery_deps: RecoveryDeps,
    token: str,
    identity: FakeIdentity,
    mailer: RecordingMailer,
    providers: FakeProviderStore,
    clock: MutableClock,
    outcomes,
) -> None:
    # Given two tries carried Alice's link id with a wrong secret
    for _ in range(2):
        with pytest.raises(InvalidRecoveryLink):
            verify_recovery(request(with_secret_changed(token)), recovery_deps)
    before = record(providers)
    # When the right token comes third, even later within the window
    clock.advance(minutes=10)
    with pytest.raises(RateLimited) as raised:
        verify_recovery(request(token), recovery_deps)
    # Then it is refused with a Retry-After that never points past the link's expiry
    pending = before.pending_recovery
    assert pending is not None
    assert raised.value.retry_after == int((pending.expires_at - clock()).total_seconds())
    assert 0 < raised.value.retry_after < 900
    # And nothing changes
    assert (identity.calls, mailer.sent) == ([], [])
    assert record(providers) == before
    # And another provider's links are counted apart
    with pytest.raises(InvalidRecoveryLink):
        verify_recovery(request(token, provider_id=str(uuid.uuid4())), recovery_deps)
    assert [outcome for _, outcome in outcomes()] == ["invalid_token"] * 2 + [
        "rate_limited",
        "invalid_token",
    ]


def test_bogus_calls_never_make_the_real_link_fail_nor_compute_argon2(
    recovery_deps: RecoveryDeps,
    token: str,
    providers: FakeProviderStore,
    identity: FakeIdentity,
    mailer: RecordingMailer,
    clock: MutableClock,
    outcomes,
) -> None:
    # Given a counting hasher, and someone who knows Alice's providerId sends bogus tokens
    # (well-formed ones, old-format ones and garbage) past the per-provider failure bound
    hasher = CountingHasher()
    deps = replace(recovery_deps, hasher=hasher)
    bogus = [bogus_token() for _ in range(21)] + [secrets.token_urlsafe(32), "x", ""]
    refused = []
    for sent in bogus:
        with pytest.raises((InvalidRecoveryLink, RateLimited)) as raised:
            verify_recovery(request(sent), deps)
        refused.append(type(raised.value).__name__)
    # Then each is refused, the ones past the bound with 429, and no argon2 was computed
    assert refused == ["InvalidRecoveryLink"] * 20 + ["RateLimited"] + ["InvalidRecoveryLink"] * 3
    assert hasher.verified == 0
    assert (identity.calls, mailer.sent) == ([], [])
    # When Alice opens her genuine link within its lifetime
    clock.advance(minutes=5)
    verify_recovery(request(token), deps)
    # Then it works, at the cost of exactly one argon2 computation
    assert hasher.verified == 1
    assert_recovered(providers, identity, mailer, clock)
    assert [outcome for _, outcome in outcomes()] == ["invalid_token"] * 20 + ["rate_limited"] + [
        "invalid_token"
    ] * 3 + ["completed"]


def test_the_verify_window_slides(
    recovery_deps: RecoveryDeps,
    token: str,
    providers: FakeProviderStore,
    hasher: Argon2TokenHasher,
    clock: MutableClock,
) -> None:
    # Given Alice's link was rate limited, and a later initiate issued her a new one
    for _ in range(3):
        with pytest.raises((InvalidRecoveryLink, RateLimited)):
            verify_recovery(request(with_secret_changed(token)), recovery_deps)
    clock.advance(minutes=15)
    fresh = issue_link(providers, record(providers), hasher, clock)
    # When she uses the new link once the 15 minutes passed, it works
    verify_recovery(request(fresh), recovery_deps)
    assert record(providers).recovered_at == clock()


@pytest.mark.parametrize(
    ("change", "sent_token", "outcome"),
    [
        pytest.param("unknown provider", lambda t: t, "invalid_token", id="unknown provider"),
        pytest.param(None, with_secret_changed, "invalid_token", id="wrong secret"),
        pytest.param(None, lambda _: bogus_token(), "invalid_token", id="wrong id"),
        pytest.param(None, lambda t: t.partition(".")[2], "invalid_token", id="old format"),
        pytest.param(None, lambda _: "", "invalid_token", id="empty token"),
        pytest.param("clear token", lambda t: t, "no_pending_token", id="no pending token"),
        pytest.param("unregister", lambda t: t, "invalid_token", id="not registered"),
    ],
)
def test_a_bad_link_is_refused_with_one_message(
    change: str | None,
    sent_token: Callable[[str], str],
    outcome: str,
    recovery_deps: RecoveryDeps,
    token: str,
    providers: FakeProviderStore,
    identity: FakeIdentity,
    mailer: RecordingMailer,
    outcomes,
) -> None:
    # Given one thing is wrong with Alice's link or record
    provider_id = ALICE["providerId"]
    if change == "unknown provider":
        provider_id = str(uuid.uuid4())
    elif change == "clear token":
        providers.add(replace(record(providers), pending_recovery=None))
    elif change == "unregister":
        providers.add(replace(record(providers), registered_email=None))
    before = providers.records.get(("aslp", provider_id))
    # When the link is used
    with pytest.raises(InvalidRecoveryLink) as raised:
        verify_recovery(request(sent_token(token), provider_id=provider_id), recovery_deps)
    # Then the answer is the same message; no user is touched and nothing is sent
    assert str(raised.value) == INVALID
    assert (identity.calls, mailer.sent) == ([], [])
    assert providers.records.get(("aslp", provider_id)) == before
    assert outcomes() == [("verify_recovery", outcome)]


@pytest.mark.parametrize(
    "late", [timedelta(minutes=14), timedelta(minutes=20)], ids=["at expiry", "after expiry"]
)
def test_an_expired_link_is_refused_and_its_token_cleared(
    late: timedelta,
    recovery_deps: RecoveryDeps,
    token: str,
    providers: FakeProviderStore,
    identity: FakeIdentity,
    mailer: RecordingMailer,
    clock: MutableClock,
    outcomes,
) -> None:
    # Given Alice's link reached (or passed) its 15 minutes
    clock.advance(seconds=late.total_seconds())
    # When she uses it
    with pytest.raises(InvalidRecoveryLink, match=INVALID):
        verify_recovery(request(token), recovery_deps)
    # Then the token is cleared and her user untouched
    assert record(providers).pending_recovery is None
    assert (identity.calls, mailer.sent) == ([], [])
    assert identity.users[ALICE_EMAIL].mfa_device == "lost phone"
    assert outcomes() == [("verify_recovery", "expired")]


def test_a_link_in_use_by_a_concurrent_request_is_refused(
    recovery_deps: RecoveryDeps,
    token: str,
    providers: FakeProviderStore,
    identity: FakeIdentity,
    mailer: RecordingMailer,
    clock: MutableClock,
    outcomes,
) -> None:
    # Given a concurrent request claimed Alice's record with her token
    current = record(providers)
    assert current.pending_recovery is not None
    providers.claim(
        current,
        "other",
        clock(),
        clock() + timedelta(seconds=60),
        current.pending_recovery.token_hash,
    )
    # When the same link is used again
    with pytest.raises(InvalidRecoveryLink, match=INVALID):
        verify_recovery(request(token), recovery_deps)
    # Then nothing is done, and the other request's claim and the token stand
    assert (identity.calls, mailer.sent) == ([], [])
    assert record(providers).claim_id == "other"
    assert record(providers).pending_recovery == current.pending_recovery
    assert outcomes() == [("verify_recovery", "already_claimed")]


@pytest.mark.parametrize(
    ("fake", "method"),
    [
        ("identity", "delete_user"),
        ("identity", "create_user"),
        ("mailer", "send"),
        ("providers", "complete_recovery"),
    ],
)
def test_a_failure_after_the_claim_releases_it_and_the_link_works_on_retry(
    fake: str,
    method: str,
    recovery_deps: RecoveryDeps,
    token: str,
    providers: FakeProviderStore,
    identity: FakeIdentity,
    mailer: RecordingMailer,
    clock: MutableClock,
    outcomes,
) -> None:
    # Given one step after the claim fails once
    before = record(providers)
    getattr(recovery_deps, fake).fail_next(method, UpstreamUnavailable())
    # When Alice uses her link, the failure propagates
    with pytest.raises(UpstreamUnavailable):
        verify_recovery(request(token), recovery_deps)
    # Then the claim is released and the token still pending; only the old sessions are over
    assert record(providers) == replace(before, sessions_not_before=clock())
    sent_before_retry = list(mailer.sent)
    # When she retries with the same link, the recovery completes
    clock.advance(seconds=5)
    verify_recovery(request(token), recovery_deps)
    assert_recovered(providers, identity, mailer, clock)
    # And each invitation that went out was for her; only the last one's password works
    assert mailer.recipients() == [ALICE_EMAIL] * (len(sent_before_retry) + 2)
    for earlier in sent_before_retry:
        assert temporary_password_in(earlier) != identity.users[ALICE_EMAIL].password
    assert outcomes() == [("verify_recovery", "upstream_error"), ("verify_recovery", "completed")]


def test_faults_on_the_holders_own_tries_never_use_up_the_link(
    recovery_deps: RecoveryDeps,
    token: str,
    providers: FakeProviderStore,
    identity: FakeIdentity,
    mailer: RecordingMailer,
    clock: MutableClock,
    outcomes,
) -> None:
    # Given Cognito fails Alice's first three tries with her genuine link
    for _ in range(3):
        identity.fail_next("create_user", UpstreamUnavailable())
        with pytest.raises(UpstreamUnavailable):
            verify_recovery(request(token), recovery_deps)
        clock.advance(seconds=5)
    # When she tries a fourth time within the same window, the recovery completes
    verify_recovery(request(token), recovery_deps)
    # Then only wrong secrets count against a link, not her own tries
    assert_recovered(providers, identity, mailer, clock)
    assert outcomes() == [("verify_recovery", "upstream_error")] * 3 + [
        ("verify_recovery", "completed")
    ]


def test_an_unreleasable_claim_lapses_and_the_link_works_after_the_lease(
    recovery_deps: RecoveryDeps,
    token: str,
    providers: FakeProviderStore,
    identity: FakeIdentity,
    mailer: RecordingMailer,
    clock: MutableClock,
) -> None:
    # Given Cognito fails to create the user, and the claim cannot be released either
    identity.fail_next("create_user", UpstreamUnavailable())
    providers.fail_next("release_claim", UpstreamUnavailable())
    # When Alice uses her link, Cognito's error propagates
    with pytest.raises(UpstreamUnavailable):
        verify_recovery(request(token), recovery_deps)
    # Then she has no user for now, and the claim holds for its 60-second lease
    assert identity.user(ALICE_EMAIL) is None
    assert record(providers).claimed_until == clock() + timedelta(seconds=60)
    # When she retries after the lease, the same link recreates her user
    clock.advance(seconds=61)
    verify_recovery(request(token), recovery_deps)
    assert_recovered(providers, identity, mailer, clock)


def test_a_link_replaced_while_it_is_checked_does_not_work(
    recovery_deps: RecoveryDeps,
    token: str,
    providers: FakeProviderStore,
    identity: FakeIdentity,
    mailer: RecordingMailer,
    hasher: Argon2TokenHasher,
    clock: MutableClock,
    monkeypatch: pytest.MonkeyPatch,
    outcomes,
) -> None:
    # Given the record was read with Alice's token pending, and a new request replaced it
    # before the claim (the read is served stale)
    stale = record(providers)
    issue_link(providers, stale, hasher, clock)
    monkeypatch.setattr(providers, "get", lambda *_: stale)
    replaced = record(providers)
    # When the old link is used
    with pytest.raises(InvalidRecoveryLink, match=INVALID):
        verify_recovery(request(token), recovery_deps)
    # Then the claim, which pins the token, is refused: nothing is done
    assert (identity.calls, mailer.sent) == ([], [])
    assert record(providers) == replaced
    assert outcomes() == [("verify_recovery", "already_claimed")]
