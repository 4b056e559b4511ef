""" "Not me": cancel a pending recovery, lock a completed one, unlock; every bad link is silent."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

import pytest

from core import emails
from core.background import BoundedExecutor
from core.errors import (
    ConditionFailed,
    NotFound,
    Overloaded,
    SessionPredatesRecovery,
    Unauthenticated,
    UpstreamUnavailable,
)
from core.id_tokens import IdentityClaims
from core.models import AccountEvent, Provider, RequestOrigin
from core.services.not_me import (
    CancelRequest,
    accept_cancel,
    cancel_own_recovery,
    cancel_recovery,
    unlock_account,
)
from core.services.recovery import (
    InitiateRequest,
    RecoveryDeps,
    VerifyRequest,
    initiate_recovery,
    verify_recovery,
)
from core.services.registration import RegistrationDeps, RegistrationRequest, register_provider
from tests.support.data import ALICE, BOB
from tests.support.fake_identity import FakeIdentity
from tests.support.fakes import FakeProviderStore, FakeRecaptcha, MutableClock, RecordingMailer
from tests.unit.conftest import ALICE_EMAIL, ALICE_PASSWORD, BOB_EMAIL, facts_of
from tests.unit.test_recovery_initiate import link_token

ORIGIN = RequestOrigin("198.51.100.7", "Safari on iOS")
KEY = ("aslp", ALICE["providerId"])


def initiate(deps: RecoveryDeps) -> None:
    request = InitiateRequest(facts_of(ALICE), ALICE_EMAIL, ALICE_PASSWORD, "ok", "203.0.113.9")
    initiate_recovery(request, deps)


def verify(deps: RecoveryDeps, token: str) -> None:
    verify_recovery(VerifyRequest("aslp", ALICE["providerId"], token, "ok", "192.0.2.44"), deps)


def not_me(deps: RecoveryDeps, token: str, provider_id: str = ALICE["providerId"]) -> None:
    cancel_recovery(CancelRequest("aslp", provider_id, token, "ok", ORIGIN), deps)


def tokens(mailer: RecordingMailer, provider: Provider) -> tuple[str, str]:
    """The recovery and "Not me" tokens of the last confirmation email."""
    message = [m for m in mailer.sent if m.subject == "Confirm account recovery"][-1]
    return link_token(message, provider), link_token(message, provider, "not-me", "cancelToken")


def notice_token(mailer: RecordingMailer, provider: Provider) -> str:
    """The "Not me" token of the last completion notice."""
    notice = [m for m in mailer.sent if m.subject.startswith("Was it you?")][-1]
    return link_token(notice, provider, "not-me", "cancelToken")


@pytest.fixture
def pending(
    recovery_deps: RecoveryDeps, registered_alice: Provider, mailer: RecordingMailer
) -> tuple[str, str]:
    """Someone initiated a recovery of Alice's account; the email reached her inbox."""
    initiate(recovery_deps)
    return tokens(mailer, registered_alice)


def test_not_me_before_completion_cancels_and_the_link_stops_working(
    recovery_deps: RecoveryDeps,
    registered_alice: Provider,
    pending: tuple[str, str],
    providers: FakeProviderStore,
    identity: FakeIdentity,
    mailer: RecordingMailer,
    clock: MutableClock,
    links: emails.Links,
    outcomes,
) -> None:
    recovery_token, cancel_token = pending
    clock.advance(minutes=2)
    # When Alice presses "Not me"
    not_me(recovery_deps, cancel_token)
    # Then the pending recovery is gone, the event logged with its origin, the link spent
    stored = providers.records[KEY]
    assert stored == replace(registered_alice, pending_recovery=None)
    assert providers.event_types(stored) == ["recovery_requested", "recovery_cancelled"]
    assert providers.events[KEY][-1].origin == ORIGIN
    assert providers.not_me_links == {}
    # And a notice says so and advises changing the password
    assert mailer.sent[-1] == emails.recovery_cancelled_notice(ALICE_EMAIL, "Quillon", links)
    # And the recovery link is refused from now on; her user is untouched
    identity.calls.clear()
    with pytest.raises(Exception, match="Invalid or expired recovery link"):
        verify(recovery_deps, recovery_token)
    assert identity.calls == []
    assert identity.users[ALICE_EMAIL].mfa_device == "lost phone"
    assert outcomes()[-2:] == [
        ("cancel_recovery", "cancelled"),
        ("verify_recovery", "no_pending_token"),
    ]


def test_not_me_after_completion_locks_disables_and_cuts_sessions(
    recovery_deps: RecoveryDeps,
    registered_alice: Provider,
    pending: tuple[str, str],
    providers: FakeProviderStore,
    identity: FakeIdentity,
    mailer: RecordingMailer,
    clock: MutableClock,
    outcomes,
) -> None:
    # Given the attacker completed the recovery
    verify(recovery_deps, pending[0])
    recovered_at = clock()
    # When Alice presses "Not me" in the completion notice an hour later
    clock.advance(hours=1)
    not_me(recovery_deps, notice_token(mailer, registered_alice))
    # Then the record is locked, older sessions cut, the recreated user disabled
    stored = providers.records[KEY]
    assert stored == replace(
        registered_alice,
        recovered_at=recovered_at,
        sessions_not_before=clock(),
        locked_at=clock(),
    )
    assert identity.users[ALICE_EMAIL].enabled is False
    assert providers.event_types(stored)[-1] == "account_locked"
    assert mailer.sent[-1] == emails.account_locked_notice(ALICE_EMAIL, "Quillon")
    # And the notice's link is spent (the confirmation's is still there, and also locks)
    assert len(providers.not_me_links) == 1
    assert outcomes()[-1] == ("cancel_recovery", "locked")


def test_the_confirmation_link_used_after_completion_locks_too(
    recovery_deps: RecoveryDeps,
    registered_alice: Provider,
    pending: tuple[str, str],
    providers: FakeProviderStore,
    identity: FakeIdentity,
    outcomes,
) -> None:
    # Given the attacker completed the recovery; Alice reads only the first email
    verify(recovery_deps, pending[0])
    # When she presses its "Not me"
    not_me(recovery_deps, pending[1])
    # Then the account is locked all the same
    assert providers.records[KEY].locked_at is not None
    assert identity.users[ALICE_EMAIL].enabled is False
    assert outcomes()[-1] == ("cancel_recovery", "locked")


def test_a_locked_account_ignores_initiates_until_unlocked(
    recovery_deps: RecoveryDeps,
    registered_alice: Provider,
    pending: tuple[str, str],
    providers: FakeProviderStore,
    identity: FakeIdentity,
    mailer: RecordingMailer,
    clock: MutableClock,
    outcomes,
) -> None:
    # Given a locked account
    verify(recovery_deps, pending[0])
    not_me(recovery_deps, pending[1])
    sent = len(mailer.sent)
    # When someone initiates a recovery with every proof
    identity.users[ALICE_EMAIL].password = ALICE_PASSWORD
    identity.calls.clear()
    initiate(recovery_deps)
    # Then nothing happens, silently: not even the password is checked
    assert (len(mailer.sent), identity.calls) == (sent, [])
    assert providers.records[KEY].pending_recovery is None
    assert outcomes()[-1] == ("initiate_recovery", "locked")
    # When an operator unlocks it
    clock.advance(minutes=1)
    unlock_account("aslp", ALICE["providerId"], "ops-jane", recovery_deps)
    # Then the user is enabled, the unlock logged with the operator, and recovery works again
    assert providers.records[KEY].locked_at is None
    assert identity.users[ALICE_EMAIL].enabled is True
    unlocked = providers.events[KEY][-1]
    assert (unlocked.event_type, unlocked.origin) == (
        "account_unlocked",
        RequestOrigin(browser="operator ops-jane"),
    )
    initiate(recovery_deps)
    assert mailer.sent[-1].subject == "Confirm account recovery"
    assert outcomes()[-2:] == [("unlock_account", "unlocked"), ("initiate_recovery", "sent")]


@pytest.mark.parametrize("email", [ALICE_EMAIL, BOB_EMAIL], ids=["her email", "another email"])
def test_a_locked_account_gets_no_new_user_by_registration(
    recovery_deps: RecoveryDeps,
    registration_deps: RegistrationDeps,
    registered_alice: Provider,
    pending: tuple[str, str],
    providers: FakeProviderStore,
    identity: FakeIdentity,
    mailer: RecordingMailer,
    clock: MutableClock,
    outcomes,
    email: str,
) -> None:
    # Given the recovery completed, its invitation unused, and the account locked by "Not me"
    verify(recovery_deps, pending[0])
    not_me(recovery_deps, notice_token(mailer, registered_alice))
    locked = providers.records[KEY]
    users = dict(identity.users)
    sent = len(mailer.sent)
    # When, days later, someone registers with the license facts
    clock.advance(days=3)
    registration = RegistrationRequest(facts_of(ALICE), email, "ok", ORIGIN)
    register_provider(registration, registration_deps)
    # Then no user is made or enabled, no invitation sent, nothing stored or logged
    assert identity.users == users
    assert identity.users[ALICE_EMAIL].enabled is False
    assert providers.records[KEY] == locked
    assert providers.event_types(locked)[-1] == "account_locked"
    assert providers.email_owner(BOB_EMAIL) is None
    # And the registered address hears of the attempt, and that support unlocks
    assert mailer.sent[sent:] == [emails.registration_attempt_on_locked_notice(ALICE_EMAIL)]
    assert outcomes()[-1] == ("registration", "locked")


def test_a_recovery_that_did_not_finish_still_keeps_the_account_from_moving(
    recovery_deps: RecoveryDeps,
    registration_deps: RegistrationDeps,
    registered_alice: Provider,
    pending: tuple[str, str],
    providers: FakeProviderStore,
    identity: FakeIdentity,
    clock: MutableClock,
    outcomes,
) -> None:
    # Given a verify recreated Alice's user and sent its invitation, then failed to finish
    providers.fail_next("complete_recovery", UpstreamUnavailable())
    with pytest.raises(UpstreamUnavailable):
        verify(recovery_deps, pending[0])
    assert providers.records[KEY].recovered_at is None
    assert identity.users[ALICE_EMAIL].status == "FORCE_CHANGE_PASSWORD"
    # When, two days later, someone with her license facts registers their own email
    clock.advance(days=2)
    stranger = RegistrationRequest(facts_of(ALICE), BOB_EMAIL, "ok", ORIGIN)
    register_provider(stranger, registration_deps)
    # Then the account stays hers
    assert providers.records[KEY].registered_email == ALICE_EMAIL
    assert identity.user(BOB_EMAIL) is None
    assert outcomes()[-1] == ("registration", "already_registered")


def test_unlocking_an_account_that_is_not_locked_fails_and_changes_nothing(
    recovery_deps: RecoveryDeps, registered_alice: Provider, providers: FakeProviderStore
) -> None:
    with pytest.raises(ConditionFailed):
        unlock_account("aslp", ALICE["providerId"], "ops-jane", recovery_deps)
    assert providers.records[KEY] == registered_alice


@pytest.mark.parametrize(
    "spoil",
    [
        pytest.param(lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"), id="wrong secret"),
        pytest.param(lambda t: "A" * 22 + t[22:], id="unknown id"),
        pytest.param(lambda _t: "not-a-token", id="malformed"),
    ],
)
def test_a_wrong_cancel_token_does_nothing(
    recovery_deps: RecoveryDeps,
    registered_alice: Provider,
    pending: tuple[str, str],
    providers: FakeProviderStore,
    mailer: RecordingMailer,
    spoil: Callable[[str], str],
    outcomes,
) -> None:
    before, sent = providers.records[KEY], list(mailer.sent)
    not_me(recovery_deps, spoil(pending[1]))
    assert (providers.records[KEY], mailer.sent) == (before, sent)
    assert outcomes()[-1] == ("cancel_recovery", "invalid_token")


def test_an_expired_or_used_cancel_token_does_nothing(
    recovery_deps: RecoveryDeps,
    registered_alice: Provider,
    pending: tuple[str, str],
    providers: FakeProviderStore,
    mailer: RecordingMailer,
    clock: MutableClock,
    outcomes,
) -> None:
    # Given the link used once
    not_me(recovery_deps, pending[1])
    initiate(recovery_deps)  # and a new recovery pending
    before, sent = providers.records[KEY], list(mailer.sent)
    # When it is used again, it does nothing
    not_me(recovery_deps, pending[1])
    assert (providers.records[KEY], mailer.sent) == (before, sent)
    # When the new email's link is used 7 days later, it does nothing either
    clock.advance(days=7)
    not_me(recovery_deps, tokens(mailer, registered_alice)[1])
    assert (providers.records[KEY], mailer.sent) == (before, sent)
    assert [o for _, o in outcomes()[-3:]] == ["sent", "invalid_token", "expired"]


def test_a_cancel_token_of_another_provider_does_nothing(
    recovery_deps: RecoveryDeps,
    registered_alice: Provider,
    pending: tuple[str, str],
    providers: FakeProviderStore,
    outcomes,
) -> None:
    before = dict(providers.records)
    not_me(recovery_deps, pending[1], provider_id=BOB["providerId"])
    assert providers.records == before
    assert outcomes()[-1] == ("cancel_recovery", "invalid_token")


def test_not_me_while_a_verify_holds_the_claim_locks(
    recovery_deps: RecoveryDeps,
    registered_alice: Provider,
    pending: tuple[str, str],
    providers: FakeProviderStore,
    identity: FakeIdentity,
    clock: MutableClock,
    outcomes,
) -> None:
    # Given a verify claimed the record and is recreating the user right now
    stored = providers.records[KEY]
    assert stored.pending_recovery is not None
    providers.claim(
        stored,
        "claim-1",
        clock(),
        clock() + timedelta(seconds=60),
        stored.pending_recovery.token_hash,
    )
    # When "Not me" arrives meanwhile
    not_me(recovery_deps, pending[1])
    # Then the account is locked rather than merely cancelled
    assert providers.records[KEY].locked_at == clock()
    assert identity.users[ALICE_EMAIL].enabled is False
    # And the verify's completion is refused, so it disables the user it created
    with pytest.raises(ConditionFailed):
        providers.complete_recovery(stored, "claim-1", clock())
    assert outcomes()[-1] == ("cancel_recovery", "locked")


def test_a_verify_that_loses_to_a_lock_disables_its_new_user(
    recovery_deps: RecoveryDeps,
    registered_alice: Provider,
    pending: tuple[str, str],
    providers: FakeProviderStore,
    identity: FakeIdentity,
    clock: MutableClock,
    outcomes,
) -> None:
    # Given "Not me" locks the account while the verify recreates the user (after its claim)
    original_create = identity.create_user

    def create_then_lock(username: str, attributes: dict[str, str], password: str) -> None:
        original_create(username, attributes, password)
        stored = providers.records[KEY]
        providers.lock(stored, clock(), ORIGIN)

    identity.create_user = create_then_lock  # type: ignore[method-assign]
    # When the verify finishes, it is refused like a bad link
    with pytest.raises(Exception, match="Invalid or expired recovery link"):
        verify(recovery_deps, pending[0])
    # Then the user it created is disabled, and the account stays locked and unrecovered
    assert identity.users[ALICE_EMAIL].enabled is False
    stored = providers.records[KEY]
    assert (stored.locked_at, stored.recovered_at, stored.claim_id) == (clock(), None, None)
    assert outcomes()[-1] == ("verify_recovery", "locked")


def test_a_failure_while_locking_is_retried_whole_with_the_same_link(
    recovery_deps: RecoveryDeps,
    registered_alice: Provider,
    pending: tuple[str, str],
    providers: FakeProviderStore,
    identity: FakeIdentity,
    mailer: RecordingMailer,
    outcomes,
) -> None:
    verify(recovery_deps, pending[0])
    link = notice_token(mailer, registered_alice)
    # Given disabling the user fails once
    identity.fail_next("disable_user", UpstreamUnavailable())
    not_me(recovery_deps, link)
    assert outcomes()[-1] == ("cancel_recovery", "upstream_error")
    # When Alice presses the same link again, the lock completes
    not_me(recovery_deps, link)
    assert identity.users[ALICE_EMAIL].enabled is False
    assert providers.records[KEY].locked_at is not None
    assert mailer.sent[-1].subject == "Your provider account is locked"
    assert outcomes()[-1] == ("cancel_recovery", "locked")


def test_accept_cancel_answers_before_the_work_and_checks_recaptcha_first(
    recovery_deps: RecoveryDeps,
    pending: tuple[str, str],
    providers: FakeProviderStore,
    recaptcha: FakeRecaptcha,
    background: BoundedExecutor,
    outcomes,
) -> None:
    # A failed reCAPTCHA: nothing is queued, nothing changes
    accept_cancel(CancelRequest(*KEY, pending[1], "fail", ORIGIN), recovery_deps, background)
    assert background.wait_idle(timeout=5)
    assert providers.records[KEY].pending_recovery is not None
    # A valid one: the work runs in the background and cancels
    accept_cancel(CancelRequest(*KEY, pending[1], "ok", ORIGIN), recovery_deps, background)
    assert background.wait_idle(timeout=5)
    assert providers.records[KEY].pending_recovery is None
    assert recaptcha.checked == [("fail", ORIGIN.ip), ("ok", ORIGIN.ip)]
    assert outcomes()[-2:] == [
        ("cancel_recovery", "recaptcha_failed"),
        ("cancel_recovery", "cancelled"),
    ]


def test_accept_cancel_is_overloaded_when_the_queue_is_full(
    recovery_deps: RecoveryDeps, pending: tuple[str, str]
) -> None:
    class Full:
        def submit(self, _operation: str, _work: Callable[[], None]) -> bool:
            return False

    with pytest.raises(Overloaded):
        accept_cancel(CancelRequest(*KEY, pending[1], "ok", ORIGIN), recovery_deps, Full())


def claims(clock: MutableClock) -> IdentityClaims:
    """Alice's ID token, signed in a minute ago (after registering, before anything else)."""
    signed_in = clock() - timedelta(minutes=1)
    return IdentityClaims(ALICE_EMAIL, ALICE_EMAIL, "aslp", ALICE["providerId"], signed_in)


def test_the_signed_in_owner_cancels_the_pending_recovery(
    recovery_deps: RecoveryDeps,
    registered_alice: Provider,
    pending: tuple[str, str],
    providers: FakeProviderStore,
    mailer: RecordingMailer,
    clock: MutableClock,
    links: emails.Links,
    outcomes,
) -> None:
    # When Alice, signed in since the recovery was asked for, deletes the one /me shows her
    clock.advance(minutes=1)
    signed_in_since = replace(claims(clock), auth_time=clock())
    cancel_own_recovery(signed_in_since, ORIGIN, recovery_deps)
    # Then it is cancelled as "Not me" would, logged with its origin, and a notice says so
    assert providers.records[KEY] == replace(registered_alice, pending_recovery=None)
    assert providers.events[KEY][-1] == AccountEvent("recovery_cancelled", clock(), ORIGIN)
    assert mailer.sent[-1] == emails.recovery_cancelled_notice(ALICE_EMAIL, "Quillon", links)
    assert outcomes()[-1] == ("cancel_recovery", "cancelled")
    # And a second time there is nothing pending
    with pytest.raises(NotFound, match="No recovery is pending"):
        cancel_own_recovery(signed_in_since, ORIGIN, recovery_deps)


def test_a_session_older_than_the_recovery_cannot_cancel_it(
    recovery_deps: RecoveryDeps,
    registered_alice: Provider,
    providers: FakeProviderStore,
    mailer: RecordingMailer,
    clock: MutableClock,
    outcomes,
) -> None:
    # Given a recovery asked for at 0.3 s past a whole second, a second after a session began
    # (a lost device, still signed in)
    clock.advance(seconds=0.3)
    initiate(recovery_deps)
    stored = providers.records[KEY]
    assert stored.pending_recovery is not None
    requested = stored.pending_recovery.requested_at
    assert requested is not None
    lost_device = replace(claims(clock), auth_time=requested - timedelta(seconds=1))
    sent = len(mailer.sent)
    # When that session deletes the pending recovery ten minutes later
    clock.advance(minutes=10)
    with pytest.raises(SessionPredatesRecovery, match="Sign in again to cancel this recovery"):
        cancel_own_recovery(lost_device, ORIGIN, recovery_deps)
    # Then nothing changes: the recovery stands, no event, no email
    assert providers.records[KEY] == stored
    assert providers.event_types(stored)[-1] == "recovery_requested"
    assert len(mailer.sent) == sent
    assert outcomes()[-1] == ("cancel_recovery", "session_too_old")
    # Nor one whose whole-second auth_time may have been before it (12:00:00 for 12:00:00.3)
    same_second = replace(lost_device, auth_time=requested.replace(microsecond=0))
    with pytest.raises(SessionPredatesRecovery):
        cancel_own_recovery(same_second, ORIGIN, recovery_deps)
    # But a session begun from the next whole second may
    next_second = requested.replace(microsecond=0) + timedelta(seconds=1)
    cancel_own_recovery(replace(lost_device, auth_time=next_second), ORIGIN, recovery_deps)
    assert providers.records[KEY].pending_recovery is None


def test_the_owner_finds_nothing_pending_once_the_link_expired(
    recovery_deps: RecoveryDeps, pending: tuple[str, str], clock: MutableClock
) -> None:
    clock.advance(minutes=15)
    with pytest.raises(NotFound, match="No recovery is pending"):
        cancel_own_recovery(claims(clock), ORIGIN, recovery_deps)


def test_the_owner_cancelling_while_a_verify_completes_locks(
    recovery_deps: RecoveryDeps,
    registered_alice: Provider,
    pending: tuple[str, str],
    providers: FakeProviderStore,
    identity: FakeIdentity,
    clock: MutableClock,
    outcomes,
) -> None:
    # Given a verify holds the claim right now
    stored = providers.records[KEY]
    assert stored.pending_recovery is not None
    until = clock() + timedelta(seconds=60)
    providers.claim(stored, "claim-1", clock(), until, stored.pending_recovery.token_hash)
    # When Alice deletes the pending recovery (with a session older than the claim's cut-off)
    clock.advance(seconds=1)
    cancel_own_recovery(replace(claims(clock), auth_time=clock()), ORIGIN, recovery_deps)
    # Then the account is locked and the user disabled, as "Not me" after completion does
    assert providers.records[KEY].locked_at == clock()
    assert identity.users[ALICE_EMAIL].enabled is False
    assert outcomes()[-1] == ("cancel_recovery", "locked")


def test_a_session_a_lock_ended_cannot_cancel(
    recovery_deps: RecoveryDeps,
    registered_alice: Provider,
    pending: tuple[str, str],
    providers: FakeProviderStore,
    clock: MutableClock,
) -> None:
    providers.lock(providers.records[KEY], clock(), ORIGIN)
    with pytest.raises(Unauthenticated, match="The account is locked"):
        cancel_own_recovery(claims(clock), ORIGIN, recovery_deps)
