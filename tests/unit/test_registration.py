"""Registration: every branch, with the stored state and exactly which emails went to whom."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from core import emails
from core.errors import ConditionFailed, UpstreamFailed, UpstreamUnavailable
from core.models import Provider, RequestOrigin
from core.services.accounts import user_attributes
from core.services.registration import RegistrationDeps, RegistrationRequest, register_provider
from tests.support.data import ALICE, BOB
from tests.support.fake_identity import FakeIdentity
from tests.support.fakes import (
    FakeProviderStore,
    MutableClock,
    RecordingMailer,
)
from tests.unit.conftest import (
    ALICE_EMAIL,
    BOB_EMAIL,
    assert_meets_policy,
    facts_of,
    temporary_password_in,
)

OTHER_EMAIL = "q.vantreska@mail.example.test"
KEY = (ALICE["compact"], ALICE["providerId"])
Outcomes = list[tuple[str, str]]


def request(email: str = ALICE_EMAIL, token: str = "ok", **changes: object) -> RegistrationRequest:
    return RegistrationRequest(
        facts_of(ALICE, **changes), email, token, RequestOrigin("198.51.100.7")
    )


def invitation(email: str, password: str, links: emails.Links) -> object:
    return emails.invitation(email, ALICE["givenName"], ALICE["familyName"], password, links)


def notice(email: str, links: emails.Links) -> object:
    return emails.registration_attempt_notice(email, links)


def register_alice_earlier(
    providers: FakeProviderStore, identity: FakeIdentity, clock: MutableClock, alice: Provider
) -> Provider:
    """Alice registered with ALICE_EMAIL now; her invitation is not used yet."""
    identity.create_user(ALICE_EMAIL, user_attributes(alice, ALICE_EMAIL), "Temp-Unused-1!ab")
    identity.calls.clear()
    return providers.add(
        replace(alice, registered_email=ALICE_EMAIL, home_jurisdiction="oh", registered_at=clock())
    )


def assert_registered(
    providers: FakeProviderStore,
    identity: FakeIdentity,
    mailer: RecordingMailer,
    alice: Provider,
    email: str,
    home: str,
    clock: MutableClock,
) -> None:
    """Alice's record, email reservation, user and last invitation agree on `email`."""
    stored = providers.records[(alice.compact, alice.provider_id)]
    assert (stored.registered_email, stored.home_jurisdiction) == (email, home)
    assert stored.registered_at == clock()
    assert (stored.claim_id, stored.claimed_until) == (None, None)
    assert providers.email_owner(email) == (alice.compact, alice.provider_id)
    user = identity.user(email)
    assert user is not None
    assert user.attributes == {
        "email": email,
        "email_verified": "true",
        "custom:compact": "aslp",
        "custom:providerId": ALICE["providerId"],
    }
    assert user.status == "FORCE_CHANGE_PASSWORD"
    last = mailer.sent[-1]
    assert last.to == email
    assert temporary_password_in(last) == user.password


@pytest.mark.parametrize(
    "changes",
    [
        {"ssn_last_four": "6184"},
        {"date_of_birth": facts_of(ALICE).date_of_birth + timedelta(days=1)},
        {"family_name": "Vantresk"},
        {"jurisdiction": "co"},
        {"license_type": "speech-language pathologist"},
    ],
    ids=["ssn", "dob", "name", "jurisdiction", "license type"],
)
def test_facts_matching_no_license_change_nothing_and_send_nothing(
    changes: dict[str, object],
    registration_deps: RegistrationDeps,
    identity: FakeIdentity,
    mailer: RecordingMailer,
    outcomes,
) -> None:
    # Given facts that differ from Alice's license in one way
    # When they are submitted
    register_provider(request(**changes), registration_deps)
    # Then the request returns as any other, and nothing was created or sent
    assert (mailer.sent, identity.calls) == ([], [])
    assert outcomes() == [("registration", "no_match")]


def test_a_license_without_a_provider_record_is_no_match(
    registration_deps: RegistrationDeps,
    providers: FakeProviderStore,
    alice: Provider,
    mailer: RecordingMailer,
    outcomes,
) -> None:
    # Given Alice's license exists but her provider record does not
    del providers.records[(alice.compact, alice.provider_id)]
    # When she registers
    register_provider(request(), registration_deps)
    # Then nothing is sent
    assert mailer.sent == []
    assert outcomes() == [("registration", "no_match")]


@pytest.mark.parametrize("jurisdiction", ["oh", "ky"])
def test_a_matching_provider_is_registered_and_invited(
    jurisdiction: str,
    registration_deps: RegistrationDeps,
    providers: FakeProviderStore,
    identity: FakeIdentity,
    mailer: RecordingMailer,
    clock: MutableClock,
    alice: Provider,
    links: emails.Links,
    outcomes,
) -> None:
    # Given Alice, unregistered, states her facts (names in another case) and a mixed-case email
    facts = {"jurisdiction": jurisdiction, "given_name": " quillon ", "family_name": "VANTRESKA"}
    # When she registers
    register_provider(request(email=" Quillon.Vantreska@Example.TEST ", **facts), registration_deps)
    # Then one user exists under the normalized email, with the attributes that tie it to her
    assert list(identity.users) == [ALICE_EMAIL]
    assert identity.methods_called() == ["create_user"]
    password = identity.users[ALICE_EMAIL].password
    assert_meets_policy(password)
    # And exactly one invitation went to her, carrying that temporary password
    assert mailer.sent == [invitation(ALICE_EMAIL, password, links)]
    assert f"\nTemporary password: {password}\n" in mailer.sent[0].text
    # And the registration is recorded with the matched license's jurisdiction, claim released
    assert_registered(providers, identity, mailer, alice, ALICE_EMAIL, jurisdiction, clock)
    assert providers.event_types(alice) == ["registered"]
    assert outcomes() == [("registration", "registered")]


@pytest.mark.parametrize("email", [ALICE_EMAIL, OTHER_EMAIL])
def test_a_registered_provider_gets_a_notice_at_the_registered_address(
    email: str,
    registration_deps: RegistrationDeps,
    registered_alice: Provider,
    providers: FakeProviderStore,
    identity: FakeIdentity,
    mailer: RecordingMailer,
    clock: MutableClock,
    links: emails.Links,
    outcomes,
) -> None:
    # Given Alice registered and signed in long ago
    clock.advance(days=30)
    # When someone registers her license again, with her email or another one
    register_provider(request(email=email), registration_deps)
    # Then only a notice goes to the address on record, and nothing changes
    assert mailer.sent == [notice(ALICE_EMAIL, links)]
    assert providers.records[(registered_alice.compact, registered_alice.provider_id)] == (
        registered_alice
    )
    assert identity.methods_called() == ["get_user"]
    assert identity.users[ALICE_EMAIL].status == "CONFIRMED"
    assert identity.user(OTHER_EMAIL) is None
    assert outcomes() == [("registration", "already_registered")]


def test_an_unused_invitation_older_than_a_day_is_renewed_for_the_same_email(
    registration_deps: RegistrationDeps,
    providers: FakeProviderStore,
    identity: FakeIdentity,
    mailer: RecordingMailer,
    clock: MutableClock,
    alice: Provider,
    links: emails.Links,
    outcomes,
) -> None:
    # Given Alice registered 24 hours and a second ago and never used her invitation
    register_alice_earlier(providers, identity, clock, alice)
    clock.advance(hours=24, seconds=1)
    # When she registers again with the same email
    register_provider(request(), registration_deps)
    # Then her user gets a new temporary password and a new invitation carries it
    assert identity.methods_called() == [
        "get_user",
        "create_user",
        "get_user",
        "set_temporary_password",
    ]
    password = identity.users[ALICE_EMAIL].password
    assert password != "Temp-Unused-1!ab"
    assert mailer.sent == [invitation(ALICE_EMAIL, password, links)]
    assert_registered(providers, identity, mailer, alice, ALICE_EMAIL, "oh", clock)
    assert providers.event_types(alice) == ["registered"]
    assert outcomes() == [("registration", "registered")]


def test_an_unused_invitation_older_than_a_day_may_move_to_another_email(
    registration_deps: RegistrationDeps,
    providers: FakeProviderStore,
    identity: FakeIdentity,
    mailer: RecordingMailer,
    clock: MutableClock,
    alice: Provider,
    links: emails.Links,
    outcomes,
) -> None:
    # Given Alice registered two days ago and never used her invitation
    register_alice_earlier(providers, identity, clock, alice)
    clock.advance(days=2)
    # When she registers again with another email
    register_provider(request(email=OTHER_EMAIL), registration_deps)
    # Then the new email has the user, the reservation and the only invitation
    password = identity.users[OTHER_EMAIL].password
    assert mailer.sent == [invitation(OTHER_EMAIL, password, links)]
    assert_registered(providers, identity, mailer, alice, OTHER_EMAIL, "oh", clock)
    # And the old email's user and reservation are gone
    assert identity.user(ALICE_EMAIL) is None
    assert providers.email_owner(ALICE_EMAIL) is None
    assert outcomes() == [("registration", "registered")]


@pytest.mark.parametrize(
    "recovery",
    ["recovered_at", "sessions_not_before"],
    ids=["a recovery finished", "a recovery recreated the user, then failed to finish"],
)
def test_a_recovered_account_never_moves_to_another_email(
    recovery: str,
    registration_deps: RegistrationDeps,
    providers: FakeProviderStore,
    identity: FakeIdentity,
    mailer: RecordingMailer,
    clock: MutableClock,
    alice: Provider,
    links: emails.Links,
    outcomes,
) -> None:
    # Given a recovery of Alice's account two days ago, its new invitation still unused
    register_alice_earlier(providers, identity, clock, alice)
    recovered = providers.add(replace(providers.records[KEY], **{recovery: clock()}))
    clock.advance(days=2)
    # When someone with her license facts registers another email
    register_provider(request(email=OTHER_EMAIL), registration_deps)
    # Then nothing moves: no user for that email, the record as it was; her address hears of it
    assert identity.user(OTHER_EMAIL) is None
    assert identity.user(ALICE_EMAIL) is not None
    assert providers.records[KEY] == recovered
    assert providers.email_owner(OTHER_EMAIL) is None
    assert mailer.sent == [notice(ALICE_EMAIL, links)]
    assert outcomes() == [("registration", "already_registered")]
    # But her own email still renews the invitation
    register_provider(request(), registration_deps)
    password = identity.users[ALICE_EMAIL].password
    assert mailer.sent[-1] == invitation(ALICE_EMAIL, password, links)
    assert outcomes()[-1] == ("registration", "registered")


def test_the_old_user_left_by_a_failed_delete_does_not_fail_a_move(
    registration_deps: RegistrationDeps,
    providers: FakeProviderStore,
    identity: FakeIdentity,
    mailer: RecordingMailer,
    clock: MutableClock,
    alice: Provider,
    outcomes,
) -> None:
    # Given Alice's stale invitation, and Cognito failing to delete the old user
    register_alice_earlier(providers, identity, clock, alice)
    clock.advance(days=2)
    identity.fail_next("delete_user", UpstreamUnavailable())
    # When she moves to another email
    register_provider(request(email=OTHER_EMAIL), registration_deps)
    # Then the registration stands; the old user is left, unreachable, with no reservation
    assert_registered(providers, identity, mailer, alice, OTHER_EMAIL, "oh", clock)
    assert identity.user(ALICE_EMAIL) is not None
    assert providers.email_owner(ALICE_EMAIL) is None
    assert outcomes() == [("registration", "registered")]


@pytest.mark.parametrize("age", [timedelta(hours=1), timedelta(hours=24)], ids=["1h", "24h"])
def test_an_unused_invitation_is_renewed_at_once_for_the_same_email(
    age: timedelta,
    registration_deps: RegistrationDeps,
    providers: FakeProviderStore,
    identity: FakeIdentity,
    mailer: RecordingMailer,
    clock: MutableClock,
    alice: Provider,
    outcomes,
) -> None:
    # Given Alice's invitation is unused (lost, or its password never reached her)
    register_alice_earlier(providers, identity, clock, alice)
    clock.advance(seconds=age.total_seconds())
    # When she registers again with the same email
    register_provider(request(email=ALICE_EMAIL), registration_deps)
    # Then a new temporary password goes to that same address, and only there
    assert_registered(providers, identity, mailer, alice, ALICE_EMAIL, "oh", clock)
    assert identity.users[ALICE_EMAIL].password != "Temp-Unused-1!ab"
    assert [mail.to for mail in mailer.sent] == [ALICE_EMAIL]
    assert outcomes() == [("registration", "registered")]


@pytest.mark.parametrize("age", [timedelta(hours=1), timedelta(hours=24)], ids=["1h", "24h"])
@pytest.mark.parametrize("email", [OTHER_EMAIL])
def test_an_invitation_of_a_day_or_less_is_not_moved_to_another_email(
    age: timedelta,
    email: str,
    registration_deps: RegistrationDeps,
    providers: FakeProviderStore,
    identity: FakeIdentity,
    mailer: RecordingMailer,
    clock: MutableClock,
    alice: Provider,
    links: emails.Links,
    outcomes,
) -> None:
    # Given Alice's unused invitation is at most 24 hours old
    registered = register_alice_earlier(providers, identity, clock, alice)
    clock.advance(seconds=age.total_seconds())
    # When her license is registered again
    register_provider(request(email=email), registration_deps)
    # Then the registered address gets a notice and nothing changes
    assert mailer.sent == [notice(ALICE_EMAIL, links)]
    assert providers.records[(alice.compact, alice.provider_id)] == registered
    assert identity.users[ALICE_EMAIL].password == "Temp-Unused-1!ab"
    assert outcomes() == [("registration", "already_registered")]


@pytest.mark.parametrize("email", [BOB_EMAIL, "Zephrine@EXAMPLE.test"])
def test_an_email_registered_by_another_provider_gets_a_notice(
    email: str,
    registration_deps: RegistrationDeps,
    providers: FakeProviderStore,
    identity: FakeIdentity,
    mailer: RecordingMailer,
    alice: Provider,
    bob: Provider,
    links: emails.Links,
    outcomes,
) -> None:
    # Given Bob registered with his email
    providers.add(replace(bob, registered_email=BOB_EMAIL, home_jurisdiction="co"))
    # When Alice registers with Bob's email, in any case
    register_provider(request(email=email), registration_deps)
    # Then Bob's address gets a notice, and Alice stays unregistered
    assert mailer.sent == [notice(BOB_EMAIL, links)]
    assert providers.records[(alice.compact, alice.provider_id)] == alice
    assert identity.calls == []
    assert outcomes() == [("registration", "email_in_use")]


def test_a_taken_email_hears_of_the_attempt_even_when_no_license_matches(
    registration_deps: RegistrationDeps,
    providers: FakeProviderStore,
    identity: FakeIdentity,
    mailer: RecordingMailer,
    bob: Provider,
    links: emails.Links,
    outcomes,
) -> None:
    # Given Bob registered with his email
    providers.add(replace(bob, registered_email=BOB_EMAIL, home_jurisdiction="co"))
    # When someone registers facts that match no license with Bob's email
    register_provider(request(email=BOB_EMAIL, ssn_last_four="0000"), registration_deps)
    # Then Bob gets the same notice as when the facts match: his inbox tells nothing
    assert mailer.sent == [notice(BOB_EMAIL, links)]
    assert identity.calls == []
    assert outcomes() == [("registration", "no_match")]


def test_a_registered_provider_hears_of_an_attempt_whichever_email_was_given(
    registration_deps: RegistrationDeps,
    providers: FakeProviderStore,
    identity: FakeIdentity,
    mailer: RecordingMailer,
    clock: MutableClock,
    alice: Provider,
    bob: Provider,
    links: emails.Links,
    outcomes,
) -> None:
    # Given Alice signed in long ago, and Bob registered with his email
    register_alice_earlier(providers, identity, clock, alice)
    identity.users[ALICE_EMAIL].status = "CONFIRMED"
    providers.add(replace(bob, registered_email=BOB_EMAIL, home_jurisdiction="co"))
    # When Alice's license is registered with Bob's email
    register_provider(request(email=BOB_EMAIL), registration_deps)
    # Then both addresses get a notice: Alice cannot learn whether Bob's email is taken
    assert mailer.sent == [notice(BOB_EMAIL, links), notice(ALICE_EMAIL, links)]
    assert outcomes() == [("registration", "already_registered")]


def test_an_abandoned_user_of_another_provider_gives_way(
    registration_deps: RegistrationDeps,
    providers: FakeProviderStore,
    identity: FakeIdentity,
    mailer: RecordingMailer,
    clock: MutableClock,
    alice: Provider,
    bob: Provider,
    outcomes,
) -> None:
    # Given Bob's never-used user for an email no account holds any more (an email change
    # whose clean-up failed), older than any registration in flight
    identity.create_user(ALICE_EMAIL, user_attributes(bob, ALICE_EMAIL), "Temp-Leftover-1!a")
    clock.advance(minutes=5)
    # When Alice registers with that email
    register_provider(request(email=ALICE_EMAIL), registration_deps)
    # Then the leftover is replaced by her user, and she is registered
    assert_registered(providers, identity, mailer, alice, ALICE_EMAIL, "oh", clock)
    assert outcomes() == [("registration", "registered")]


def test_a_fresh_user_of_another_provider_is_left_alone(
    registration_deps: RegistrationDeps,
    identity: FakeIdentity,
    mailer: RecordingMailer,
    bob: Provider,
    links: emails.Links,
    outcomes,
) -> None:
    # Given Bob's user for an email was created seconds ago (his registration may be in flight)
    identity.create_user(ALICE_EMAIL, user_attributes(bob, ALICE_EMAIL), "Temp-InFlight-1!a")
    # When Alice registers with that email
    register_provider(request(email=ALICE_EMAIL), registration_deps)
    # Then Bob's user stays, and the address hears of the attempt
    assert identity.users[ALICE_EMAIL.casefold()].attributes["custom:providerId"] == bob.provider_id
    assert mailer.sent == [notice(ALICE_EMAIL, links)]
    assert outcomes() == [("registration", "email_in_use")]


def test_a_leftover_user_of_the_same_provider_is_reused(
    registration_deps: RegistrationDeps,
    providers: FakeProviderStore,
    identity: FakeIdentity,
    mailer: RecordingMailer,
    clock: MutableClock,
    alice: Provider,
    links: emails.Links,
    outcomes,
) -> None:
    # Given an interrupted attempt left Alice's user behind, unregistered in the table
    identity.create_user(ALICE_EMAIL, user_attributes(alice, ALICE_EMAIL), "Temp-Leftover-1!")
    identity.calls.clear()
    # When she registers
    register_provider(request(), registration_deps)
    # Then that user gets a new temporary password, and the invitation carries it
    assert identity.methods_called() == ["create_user", "get_user", "set_temporary_password"]
    password = identity.users[ALICE_EMAIL].password
    assert password != "Temp-Leftover-1!"
    assert mailer.sent == [invitation(ALICE_EMAIL, password, links)]
    assert_registered(providers, identity, mailer, alice, ALICE_EMAIL, "oh", clock)
    assert outcomes() == [("registration", "registered")]


def test_a_user_of_another_provider_under_the_email_gets_a_notice(
    registration_deps: RegistrationDeps,
    providers: FakeProviderStore,
    identity: FakeIdentity,
    mailer: RecordingMailer,
    alice: Provider,
    bob: Provider,
    links: emails.Links,
    outcomes,
) -> None:
    # Given a Cognito user of Bob's holds an email the table does not know
    identity.create_user(BOB_EMAIL, user_attributes(bob, BOB_EMAIL), "Temp-Bobs-Own-1!")
    # When Alice registers with it
    register_provider(request(email=BOB_EMAIL), registration_deps)
    # Then the address gets a notice; Bob's user is untouched; Alice's claim is released
    assert mailer.sent == [notice(BOB_EMAIL, links)]
    assert identity.users[BOB_EMAIL].password == "Temp-Bobs-Own-1!"
    assert identity.users[BOB_EMAIL].attributes["custom:providerId"] == BOB["providerId"]
    assert providers.records[(alice.compact, alice.provider_id)] == alice
    assert outcomes() == [("registration", "email_in_use")]


def test_a_registered_provider_without_a_user_may_register_its_own_email_again(
    registration_deps: RegistrationDeps,
    providers: FakeProviderStore,
    identity: FakeIdentity,
    mailer: RecordingMailer,
    clock: MutableClock,
    alice: Provider,
    links: emails.Links,
    outcomes,
) -> None:
    # Given Alice is registered but has no Cognito user (a recovery stopped half-way)
    providers.add(replace(alice, registered_email=ALICE_EMAIL, home_jurisdiction="ky"))
    # When she registers with the email on record
    register_provider(request(), registration_deps)
    # Then a user is created and invited, and the registration recorded anew
    password = identity.users[ALICE_EMAIL].password
    assert mailer.sent == [invitation(ALICE_EMAIL, password, links)]
    assert_registered(providers, identity, mailer, alice, ALICE_EMAIL, "oh", clock)
    assert outcomes() == [("registration", "registered")]


def test_a_registered_provider_without_a_user_may_not_take_another_email(
    registration_deps: RegistrationDeps,
    providers: FakeProviderStore,
    identity: FakeIdentity,
    mailer: RecordingMailer,
    alice: Provider,
    links: emails.Links,
    outcomes,
) -> None:
    # Given Alice is registered but has no Cognito user
    registered = providers.add(replace(alice, registered_email=ALICE_EMAIL))
    # When someone registers her license with another email
    register_provider(request(email=OTHER_EMAIL), registration_deps)
    # Then the address on record gets a notice and no user is created
    assert mailer.sent == [notice(ALICE_EMAIL, links)]
    assert identity.users == {}
    assert providers.records[(alice.compact, alice.provider_id)] == registered
    assert outcomes() == [("registration", "already_registered")]


@pytest.mark.parametrize(
    "error", [UpstreamUnavailable(), UpstreamFailed(), ValueError("not a service error")]
)
def test_a_failed_table_write_deletes_the_new_user_and_propagates(
    error: Exception,
    registration_deps: RegistrationDeps,
    providers: FakeProviderStore,
    identity: FakeIdentity,
    mailer: RecordingMailer,
    clock: MutableClock,
    alice: Provider,
    links: emails.Links,
) -> None:
    # Given DynamoDB fails the registration write once
    providers.fail_next("record_registration", error)
    # When Alice registers
    with pytest.raises(type(error)):
        register_provider(request(), registration_deps)
    # Then the user just created is deleted, and the record is as before, claim released
    assert identity.methods_called() == ["create_user", "delete_user"]
    assert identity.users == {}
    assert providers.records[(alice.compact, alice.provider_id)] == alice
    # And the invitation, sent before the write, is void; a retry sends a working one
    first = mailer.sent[0]
    register_provider(request(), registration_deps)
    assert mailer.recipients() == [ALICE_EMAIL, ALICE_EMAIL]
    assert temporary_password_in(first) != identity.users[ALICE_EMAIL].password
    assert_registered(providers, identity, mailer, alice, ALICE_EMAIL, "oh", clock)


def test_a_failed_table_write_keeps_a_reused_user(
    registration_deps: RegistrationDeps,
    providers: FakeProviderStore,
    identity: FakeIdentity,
    alice: Provider,
) -> None:
    # Given Alice's leftover user, and the registration write failing
    identity.create_user(ALICE_EMAIL, user_attributes(alice, ALICE_EMAIL), "Temp-Leftover-1!")
    providers.fail_next("record_registration", UpstreamUnavailable())
    # When she registers
    with pytest.raises(UpstreamUnavailable):
        register_provider(request(), registration_deps)
    # Then the user this attempt did not create is not deleted
    assert "delete_user" not in identity.methods_called()
    assert identity.user(ALICE_EMAIL) is not None
    assert providers.records[(alice.compact, alice.provider_id)] == alice


def test_a_failed_undo_still_propagates_and_the_retry_reuses_the_user(
    registration_deps: RegistrationDeps,
    providers: FakeProviderStore,
    identity: FakeIdentity,
    mailer: RecordingMailer,
    clock: MutableClock,
    alice: Provider,
) -> None:
    # Given the registration write fails, and so does deleting the user afterwards
    providers.fail_next("record_registration", UpstreamUnavailable())
    identity.fail_next("delete_user", UpstreamUnavailable())
    # When Alice registers, the write's error propagates and the user is left
    with pytest.raises(UpstreamUnavailable):
        register_provider(request(), registration_deps)
    assert identity.user(ALICE_EMAIL) is not None
    # When she retries, the leftover is reused
    register_provider(request(), registration_deps)
    assert identity.methods_called()[-2:] == ["get_user", "set_temporary_password"]
    assert_registered(providers, identity, mailer, alice, ALICE_EMAIL, "oh", clock)


def test_a_lost_race_on_the_table_write_undoes_quietly(
    registration_deps: RegistrationDeps,
    providers: FakeProviderStore,
    identity: FakeIdentity,
    alice: Provider,
    outcomes,
) -> None:
    # Given the registration write loses a race
    providers.fail_next("record_registration", ConditionFailed())
    # When Alice registers
    register_provider(request(), registration_deps)
    # Then nothing is raised; her user is deleted and her claim released
    assert identity.users == {}
    assert providers.records[(alice.compact, alice.provider_id)] == alice
    assert outcomes() == [("registration", "in_progress")]


def test_a_lock_landing_during_the_registration_leaves_no_usable_user(
    registration_deps: RegistrationDeps,
    providers: FakeProviderStore,
    identity: FakeIdentity,
    clock: MutableClock,
    outcomes,
) -> None:
    # Given a "Not me" locks the account after this registration's claim, before its write,
    # and the delete of the user it made fails
    record_registration = providers.record_registration

    def locked_first(*args: object, **kwargs: object) -> None:
        providers.lock(providers.records[KEY], clock(), RequestOrigin())
        record_registration(*args, **kwargs)  # type: ignore[arg-type]

    providers.record_registration = locked_first  # type: ignore[method-assign]
    identity.fail_next("delete_user", UpstreamUnavailable())
    # When Alice's facts are registered
    register_provider(request(), registration_deps)
    # Then the user its invitation announced is left disabled, and the outcome says why
    assert identity.users[ALICE_EMAIL].enabled is False
    assert providers.records[KEY].registered_email is None
    assert providers.email_owner(ALICE_EMAIL) is None
    assert outcomes() == [("registration", "locked")]


def test_a_lost_race_whose_cause_cannot_be_read_disables_before_deleting(
    registration_deps: RegistrationDeps,
    providers: FakeProviderStore,
    identity: FakeIdentity,
    alice: Provider,
    outcomes,
) -> None:
    # Given the registration write loses a race, the record cannot be read again to see why,
    # and the delete of the user it made fails
    def lost_then_unreadable(*_args: object, **_kwargs: object) -> None:
        providers.fail_next("get", UpstreamUnavailable())
        raise ConditionFailed()

    providers.record_registration = lost_then_unreadable  # type: ignore[method-assign]
    identity.fail_next("delete_user", UpstreamUnavailable())
    # When Alice's facts are registered
    register_provider(request(), registration_deps)
    # Then the user is left disabled, as if a lock had won, and the attempt ends quietly
    assert identity.users[ALICE_EMAIL].enabled is False
    assert providers.records[KEY] == alice
    assert outcomes() == [("registration", "in_progress")]


def test_a_failed_invitation_deletes_the_user_and_a_retry_succeeds(
    registration_deps: RegistrationDeps,
    providers: FakeProviderStore,
    identity: FakeIdentity,
    mailer: RecordingMailer,
    clock: MutableClock,
    alice: Provider,
    links: emails.Links,
) -> None:
    # Given SES fails once
    mailer.fail_next("send", UpstreamUnavailable())
    # When Alice registers
    with pytest.raises(UpstreamUnavailable):
        register_provider(request(), registration_deps)
    # Then no mail went out, her user is deleted and her claim released
    assert (mailer.sent, identity.users) == ([], {})
    assert providers.records[(alice.compact, alice.provider_id)] == alice
    # When she retries, she is registered with one invitation
    register_provider(request(), registration_deps)
    password = identity.users[ALICE_EMAIL].password
    assert mailer.sent == [invitation(ALICE_EMAIL, password, links)]
    assert_registered(providers, identity, mailer, alice, ALICE_EMAIL, "oh", clock)


def test_a_failed_user_creation_releases_the_claim(
    registration_deps: RegistrationDeps,
    providers: FakeProviderStore,
    identity: FakeIdentity,
    mailer: RecordingMailer,
    alice: Provider,
) -> None:
    # Given Cognito fails the creation
    identity.fail_next("create_user", UpstreamUnavailable())
    # When Alice registers
    with pytest.raises(UpstreamUnavailable):
        register_provider(request(), registration_deps)
    # Then nothing was sent and the claim is released
    assert (mailer.sent, identity.users) == ([], {})
    assert providers.records[(alice.compact, alice.provider_id)] == alice


def test_a_claim_that_cannot_be_released_lapses_at_the_end_of_its_lease(
    registration_deps: RegistrationDeps,
    providers: FakeProviderStore,
    identity: FakeIdentity,
    mailer: RecordingMailer,
    clock: MutableClock,
    alice: Provider,
    outcomes,
) -> None:
    # Given SES fails once and releasing the claim fails too
    mailer.fail_next("send", UpstreamUnavailable())
    providers.fail_next("release_claim", UpstreamUnavailable())
    # When Alice registers, SES's error (not the release's) propagates and the claim stays
    with pytest.raises(UpstreamUnavailable):
        register_provider(request(), registration_deps)
    assert providers.records[(alice.compact, alice.provider_id)].claimed_until == (
        clock() + timedelta(seconds=60)
    )
    # When she retries within the lease, the attempt is in progress; after it, she registers
    register_provider(request(), registration_deps)
    clock.advance(seconds=61)
    register_provider(request(), registration_deps)
    assert mailer.recipients() == [ALICE_EMAIL]
    assert_registered(providers, identity, mailer, alice, ALICE_EMAIL, "oh", clock)
    assert outcomes() == [("registration", "in_progress"), ("registration", "registered")]


def test_a_concurrent_attempt_holding_the_claim_means_in_progress(
    registration_deps: RegistrationDeps,
    providers: FakeProviderStore,
    identity: FakeIdentity,
    mailer: RecordingMailer,
    clock: MutableClock,
    alice: Provider,
    outcomes,
) -> None:
    # Given another attempt holds Alice's claim for one more second
    providers.claim(alice, "other-attempt", clock(), clock() + timedelta(seconds=1))
    held = providers.records[(alice.compact, alice.provider_id)]
    # When she registers
    register_provider(request(), registration_deps)
    # Then nothing is created or sent and the other claim stands
    assert (mailer.sent, identity.calls) == ([], [])
    assert providers.records[(alice.compact, alice.provider_id)] == held
    assert outcomes() == [("registration", "in_progress")]


def test_a_registration_completed_after_the_read_wins(
    registration_deps: RegistrationDeps,
    providers: FakeProviderStore,
    identity: FakeIdentity,
    mailer: RecordingMailer,
    alice: Provider,
    monkeypatch: pytest.MonkeyPatch,
    outcomes,
) -> None:
    # Given Alice's record was read unregistered, but another attempt registered her meanwhile
    winner = providers.add(replace(alice, registered_email=OTHER_EMAIL, home_jurisdiction="ky"))
    monkeypatch.setattr(providers, "get", lambda *_: alice)
    # When this attempt goes on, its claim (which pins the email on record) is refused
    register_provider(request(), registration_deps)
    # Then it creates and sends nothing, and the winner's registration stands
    assert (identity.calls, mailer.sent) == ([], [])
    assert providers.records[(alice.compact, alice.provider_id)] == winner
    assert outcomes() == [("registration", "in_progress")]
