"""Caps on mail: repeated requests cannot bomb an inbox, and nobody is locked out by them."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from prometheus_client import REGISTRY

from core import emails
from core.errors import UpstreamUnavailable
from core.mail_caps import MailCapPolicy, MailCaps
from core.models import Provider, RequestOrigin
from core.services.registration import RegistrationDeps, RegistrationRequest, register_provider
from tests.support.data import ALICE
from tests.support.fake_identity import FakeIdentity
from tests.support.fakes import (
    FakeAttemptCounter,
    FakeProviderStore,
    MutableClock,
    RecordingMailer,
)
from tests.unit.conftest import ALICE_EMAIL, facts_of, temporary_password_in

ATTACKER = "inbox-of-the-attacker@example.test"


def request(email: str, **changes: object) -> RegistrationRequest:
    return RegistrationRequest(
        facts_of(ALICE, **changes), email, "ok", RequestOrigin("198.51.100.7")
    )


def suppressed(kind: str) -> float:
    labels = {"kind": kind}
    return REGISTRY.get_sample_value("provider_accounts_mail_suppressed_total", labels) or 0.0


def test_one_notice_per_address_per_hour_then_the_window_slides(
    registration_deps: RegistrationDeps,
    registered_alice: Provider,
    mailer: RecordingMailer,
    clock: MutableClock,
    links: emails.Links,
    outcomes,
) -> None:
    # Given someone registers again and again with Alice's registered email and random facts
    before = suppressed("notice")
    for attempt in range(5):
        register_provider(request(ALICE_EMAIL, ssn_last_four=f"900{attempt}"), registration_deps)
        clock.advance(minutes=10)
    # Then Alice got one notice in that hour; the four others were suppressed, logged, counted
    assert mailer.sent == [emails.registration_attempt_notice(ALICE_EMAIL, links)]
    assert (
        outcomes()
        == [("registration", "no_match")]
        + [
            ("mail", "notice_capped"),
            ("registration", "no_match"),
        ]
        * 4
    )
    assert suppressed("notice") == before + 4
    # When the hour since the first notice has passed, the next attempt is told again
    clock.advance(minutes=11)
    register_provider(request(ALICE_EMAIL, ssn_last_four="9100"), registration_deps)
    assert mailer.recipients() == [ALICE_EMAIL, ALICE_EMAIL]


def test_one_invitation_per_license_and_address_per_hour(
    registration_deps: RegistrationDeps,
    providers: FakeProviderStore,
    identity: FakeIdentity,
    mailer: RecordingMailer,
    clock: MutableClock,
    alice: Provider,
    outcomes,
) -> None:
    # Given someone who knows Alice's facts registered her license with their own address
    register_provider(request(ATTACKER), registration_deps)
    password = identity.users[ATTACKER].password
    before = suppressed("invitation")
    # When they repeat it (an unused invitation may be renewed at any time) within the hour
    for _ in range(3):
        clock.advance(minutes=15)
        register_provider(request(ATTACKER), registration_deps)
    # Then no further invitation goes out, and the first one's password still works
    assert mailer.recipients() == [ATTACKER]
    assert identity.users[ATTACKER].password == password
    assert [outcome for _, outcome in outcomes()] == ["registered"] + [
        "invitation_capped",
        "invitation_capped",
    ] * 3
    assert suppressed("invitation") == before + 3
    # When the hour has passed, a renewal sends one again
    clock.advance(minutes=16)
    register_provider(request(ATTACKER), registration_deps)
    assert mailer.recipients() == [ATTACKER, ATTACKER]
    assert temporary_password_in(mailer.sent[-1]) == identity.users[ATTACKER].password


def test_the_cap_of_one_address_never_holds_back_another_address(
    registration_deps: RegistrationDeps, alice: Provider, bob: Provider
) -> None:
    # Given an invitation for Alice's license to the attacker's address holds its slot
    caps = registration_deps.caps
    assert caps.reserve_invitation(alice, ATTACKER) is not None
    # Then that pair is capped, but Alice's own address, and other licenses, are not
    assert caps.reserve_invitation(alice, ATTACKER) is None
    assert caps.reserve_invitation(alice, ALICE_EMAIL) is not None
    assert caps.reserve_invitation(bob, ATTACKER) is not None


def test_a_cap_of_two_lets_two_notices_through_per_window(
    attempts: FakeAttemptCounter, clock: MutableClock, mailer: RecordingMailer, links: emails.Links
) -> None:
    # Given a cap of two notices per address per hour
    caps = MailCaps(attempts, clock, MailCapPolicy(notices_per_recipient=2))
    notice = emails.registration_attempt_notice(ATTACKER, links)
    before = suppressed("notice")
    # When four are sent within the hour
    for _ in range(4):
        caps.send_notice(mailer, notice)
        clock.advance(minutes=1)
    # Then two went out and two were suppressed
    assert mailer.sent == [notice, notice]
    assert suppressed("notice") == before + 2


def test_a_sent_notice_holds_its_slot_exactly_one_window(
    attempts: FakeAttemptCounter, clock: MutableClock, mailer: RecordingMailer, links: emails.Links
) -> None:
    # Given a notice sent now
    caps = MailCaps(attempts, clock, MailCapPolicy())
    notice = emails.registration_attempt_notice(ATTACKER, links)
    sent_at = clock()
    caps.send_notice(mailer, notice)
    # Then its slot is held for the whole window, not just the lease
    assert attempts.held_until(notice_key(ATTACKER)) == [sent_at + timedelta(hours=1)]
    # When a microsecond of the window is left, another notice is suppressed
    clock.advance(hours=1, microseconds=-1)
    caps.send_notice(mailer, notice)
    assert mailer.sent == [notice]
    # When the window has passed, the next one goes out and holds the slot anew
    clock.advance(microseconds=1)
    caps.send_notice(mailer, notice)
    assert mailer.sent == [notice, notice]
    assert attempts.held_until(notice_key(ATTACKER)) == [clock() + timedelta(hours=1)]


def test_a_notice_that_fails_to_send_frees_its_slot_at_once(
    attempts: FakeAttemptCounter, clock: MutableClock, mailer: RecordingMailer, links: emails.Links
) -> None:
    # Given SES fails the first notice
    caps = MailCaps(attempts, clock, MailCapPolicy())
    notice = emails.registration_attempt_notice(ATTACKER, links)
    mailer.fail_next("send", UpstreamUnavailable())
    with pytest.raises(UpstreamUnavailable):
        caps.send_notice(mailer, notice)
    # Then nothing was sent and nothing is held
    assert mailer.sent == []
    assert attempts.held_until(notice_key(ATTACKER)) == []
    # And a retry a moment later sends it
    clock.advance(seconds=1)
    caps.send_notice(mailer, notice)
    assert mailer.sent == [notice]


def test_a_slot_that_could_not_be_freed_lapses_at_the_end_of_its_lease(
    attempts: FakeAttemptCounter,
    clock: MutableClock,
    mailer: RecordingMailer,
    links: emails.Links,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given SES fails a notice, and DynamoDB then fails the write that would free its slot
    caps = MailCaps(attempts, clock, MailCapPolicy(lease=timedelta(seconds=60)))
    notice = emails.registration_attempt_notice(ATTACKER, links)
    mailer.fail_next("send", UpstreamUnavailable())
    attempts.fail_next("release", UpstreamUnavailable())
    # Then the caller sees the send's failure, and the stuck slot is logged
    with pytest.raises(UpstreamUnavailable):
        caps.send_notice(mailer, notice)
    assert "could not free a mail's reservation" in caplog.text
    # And the slot holds for the lease only, not for the window
    clock.advance(seconds=59)
    caps.send_notice(mailer, notice)
    assert mailer.sent == []
    clock.advance(seconds=1)
    caps.send_notice(mailer, notice)
    assert mailer.sent == [notice]


def test_a_notice_sent_but_not_counted_is_logged_and_holds_for_its_lease(
    attempts: FakeAttemptCounter,
    clock: MutableClock,
    mailer: RecordingMailer,
    links: emails.Links,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given DynamoDB fails the write that counts a sent notice for its window
    caps = MailCaps(attempts, clock, MailCapPolicy(lease=timedelta(seconds=60)))
    notice = emails.registration_attempt_notice(ATTACKER, links)
    attempts.fail_next("confirm", UpstreamUnavailable())
    # When the notice is sent, the caller sees no failure (the mail went out)
    caps.send_notice(mailer, notice)
    assert mailer.sent == [notice]
    assert "could not count a mail against its cap" in caplog.text
    assert attempts.held_until(notice_key(ATTACKER)) == [clock() + timedelta(seconds=60)]


def test_a_registration_that_fails_spends_no_invitation(
    registration_deps: RegistrationDeps,
    identity: FakeIdentity,
    attempts: FakeAttemptCounter,
    mailer: RecordingMailer,
    clock: MutableClock,
    alice: Provider,
) -> None:
    # Given Cognito fails the first registration of Alice's license to an address
    identity.fail_next("create_user", UpstreamUnavailable())
    with pytest.raises(UpstreamUnavailable):
        register_provider(request(ATTACKER), registration_deps)
    # Then no invitation slot is held
    assert attempts.held_until(invitation_key(alice, ATTACKER)) == []
    # When the registration is retried a second later, the invitation goes out and is counted
    clock.advance(seconds=1)
    register_provider(request(ATTACKER), registration_deps)
    assert mailer.recipients() == [ATTACKER]
    assert attempts.held_until(invitation_key(alice, ATTACKER)) == [clock() + timedelta(hours=1)]


def test_a_registration_that_sends_nothing_spends_no_invitation(
    registration_deps: RegistrationDeps,
    providers: FakeProviderStore,
    attempts: FakeAttemptCounter,
    clock: MutableClock,
    alice: Provider,
    outcomes,
) -> None:
    # Given another attempt holds Alice's record (its claim is in progress)
    providers.claim(alice, "someone-else", clock(), clock() + timedelta(seconds=60))
    # When a registration of her license arrives
    register_provider(request(ATTACKER), registration_deps)
    # Then it sends nothing, and holds no invitation slot either
    assert outcomes()[-1] == ("registration", "in_progress")
    assert attempts.held_until(invitation_key(alice, ATTACKER)) == []


def notice_key(email: str) -> str:
    return f"mail#notice#{hashlib.sha256(email.encode()).hexdigest()}"


def invitation_key(provider: Provider, email: str) -> str:
    digest = hashlib.sha256(email.encode()).hexdigest()
    return f"mail#invitation#{provider.compact}#{provider.provider_id}#{digest}"
