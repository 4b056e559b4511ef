"""Caps on mail: repeated requests cannot bomb an inbox, and nobody is locked out by them."""

from __future__ import annotations

from prometheus_client import REGISTRY

from core import emails
from core.models import Provider
from core.services.registration import RegistrationDeps, RegistrationRequest, register_provider
from tests.support.data import ALICE
from tests.support.fake_identity import FakeIdentity
from tests.support.fakes import FakeProviderStore, MutableClock, RecordingMailer
from tests.unit.conftest import ALICE_EMAIL, facts_of, temporary_password_in

ATTACKER = "inbox-of-the-attacker@example.test"


def request(email: str, **changes: object) -> RegistrationRequest:
    return RegistrationRequest(facts_of(ALICE, **changes), email, "ok", "198.51.100.7")


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
    # Given an invitation for Alice's license went to the attacker's address just now
    caps = registration_deps.caps
    caps.invitation_sent(alice, ATTACKER)
    # Then that pair is capped, but Alice's own address, and other licenses, are not
    assert caps.invitation_allowed(alice, ATTACKER) is False
    assert caps.invitation_allowed(alice, ALICE_EMAIL) is True
    assert caps.invitation_allowed(bob, ATTACKER) is True
