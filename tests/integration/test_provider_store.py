"""DynamoProviderStore on moto: claims, registration, recovery tokens and history."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.stub import Stubber

from core.adapters.providers import DynamoProviderStore
from core.errors import ConditionFailed, UpstreamFailed, UpstreamUnavailable
from core.models import AccountEvent, PendingRecovery, Provider, RequestOrigin
from tests.integration.conftest import Tables
from tests.support.data import ALICE, BOB
from tests.support.stored_events import stored_events

NOW = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)
LEASE = timedelta(seconds=60)
ALICE_EMAIL = "quillon.vantreska@example.com"
BOB_EMAIL = "zephrine.oduya-marsh@example.com"


History = Callable[[str, str, int], list[AccountEvent]]


@pytest.fixture
def history(tables: Tables) -> History:
    """The provider's stored events, newest first, as the service's profile read finds them."""
    return functools.partial(stored_events, tables.dynamo_providers)


@pytest.fixture
def store(tables: Tables) -> DynamoProviderStore:
    return DynamoProviderStore(tables.dynamo_providers)


def alice(store: DynamoProviderStore) -> Provider:
    provider = store.get(ALICE["compact"], ALICE["providerId"])
    assert provider is not None
    return provider


def bob(store: DynamoProviderStore) -> Provider:
    provider = store.get(BOB["compact"], BOB["providerId"])
    assert provider is not None
    return provider


def register(
    store: DynamoProviderStore, provider: Provider, email: str, now: datetime = NOW
) -> Provider:
    """Claim, then record the registration; returns the stored provider."""
    store.claim(provider, "registering", now, now + LEASE)
    store.record_registration(provider, email, "oh", "registering", now)
    registered = store.get(provider.compact, provider.provider_id)
    assert registered is not None
    return registered


def registered_with_claimed_link(
    store: DynamoProviderStore, holder: str
) -> tuple[Provider, datetime]:
    """Alice registered, a recovery link asked for a minute later and claimed by `holder`.

    Returns the provider as read before the link (what a stale reader holds) and when it was
    asked for.
    """
    registered = register(store, alice(store), ALICE_EMAIL)
    asked = NOW + timedelta(minutes=1)
    store.store_recovery_token(
        registered, PendingRecovery("hash", asked + timedelta(minutes=15), "id-hash"), asked
    )
    store.claim(registered, holder, asked, asked + LEASE, token_hash="hash")
    return registered, asked


def raw_item(tables: Tables, person: dict[str, str]) -> dict[str, Any]:
    key = {
        "pk": f"{person['compact']}#PROVIDER#{person['providerId']}",
        "sk": f"{person['compact']}#PROVIDER",
    }
    return dict(tables.providers.get_item(Key=key, ConsistentRead=True)["Item"])


def test_get_reads_the_seeded_record_and_none_for_an_unknown_provider(
    store: DynamoProviderStore,
) -> None:
    # Given the seeded licenses / When the provider is read / Then names only, no account
    assert alice(store) == Provider(
        provider_id=ALICE["providerId"],
        compact="aslp",
        given_name="Quillon",
        family_name="Vantreska",
    )
    assert store.get("aslp", "9e0c7a52-5d1b-4c3e-8f2a-6b4d8c0e2f4a") is None
    assert store.get("octp", ALICE["providerId"]) is None


# --- claims ----------------------------------------------------------------------------------


def test_a_live_claim_blocks_another(store: DynamoProviderStore, tables: Tables) -> None:
    # Given A holds Alice's claim for 60 seconds
    store.claim(alice(store), "claim-a", NOW, NOW + LEASE)

    # When B tries 59 seconds later / Then it loses, and A still holds it
    with pytest.raises(ConditionFailed):
        store.claim(alice(store), "claim-b", NOW + timedelta(seconds=59), NOW + 2 * LEASE)
    item = raw_item(tables, ALICE)
    assert (item["claimId"], item["claimedUntil"]) == ("claim-a", "2030-05-01T12:01:00.000000Z")
    assert alice(store).claim_id == "claim-a"
    assert alice(store).claimed_until == NOW + LEASE


def test_a_lapsed_claim_can_be_retaken(store: DynamoProviderStore) -> None:
    # Given A's claim lapsed (A crashed and never released it)
    store.claim(alice(store), "claim-a", NOW, NOW + LEASE)

    # When B claims after the lease
    later = NOW + LEASE + timedelta(microseconds=1)
    store.claim(alice(store), "claim-b", later, later + LEASE)

    # Then B holds it
    assert (alice(store).claim_id, alice(store).claimed_until) == ("claim-b", later + LEASE)


def test_a_claim_on_a_missing_provider_fails_and_creates_nothing(
    store: DynamoProviderStore,
) -> None:
    ghost = Provider(provider_id=BOB["providerId"], compact="aslp", given_name="x", family_name="y")
    with pytest.raises(ConditionFailed):
        store.claim(ghost, "claim", NOW, NOW + LEASE)
    assert store.get("aslp", BOB["providerId"]) is None


def test_a_claim_pins_the_registered_email_the_caller_saw(store: DynamoProviderStore) -> None:
    # Given Alice registered after a caller read her record unregistered
    unregistered_view = alice(store)
    registered = register(store, unregistered_view, ALICE_EMAIL)

    # When the caller claims with its stale view, or with another email / Then it loses
    later = NOW + timedelta(minutes=5)
    with pytest.raises(ConditionFailed):
        store.claim(unregistered_view, "stale", later, later + LEASE)
    other_email = Provider(**{**registered.__dict__, "registered_email": "other@example.com"})
    with pytest.raises(ConditionFailed):
        store.claim(other_email, "stale", later, later + LEASE)
    # And with the current view it wins
    store.claim(registered, "current", later, later + LEASE)
    assert alice(store).claim_id == "current"


def test_a_recovery_claim_pins_the_pending_token_hash(store: DynamoProviderStore) -> None:
    # Given Alice's pending token was replaced by a newer one
    registered = register(store, alice(store), ALICE_EMAIL)
    store.store_recovery_token(
        registered, PendingRecovery("hash-old", NOW + timedelta(minutes=15), "id-hash-old"), NOW
    )
    store.store_recovery_token(
        registered, PendingRecovery("hash-new", NOW + timedelta(minutes=16), "id-hash-new"), NOW
    )

    # When a claim pins the old token / Then it loses
    with pytest.raises(ConditionFailed):
        store.claim(registered, "old", NOW, NOW + LEASE, token_hash="hash-old")
    assert alice(store).claim_id is None
    # And pinning the current token wins
    store.claim(registered, "new", NOW, NOW + LEASE, token_hash="hash-new")
    assert alice(store).claim_id == "new"


def test_release_frees_the_claim_only_for_its_holder(store: DynamoProviderStore) -> None:
    # Given A holds the claim
    store.claim(alice(store), "claim-a", NOW, NOW + LEASE)

    # When someone else releases / Then nothing happens, quietly
    store.release_claim(alice(store), "claim-b")
    assert alice(store).claim_id == "claim-a"

    # When A releases / Then the claim is gone and can be taken at once
    store.release_claim(alice(store), "claim-a")
    assert (alice(store).claim_id, alice(store).claimed_until) == (None, None)
    store.claim(alice(store), "claim-b", NOW, NOW + LEASE)
    assert alice(store).claim_id == "claim-b"


# --- registration ----------------------------------------------------------------------------


def test_record_registration_stores_the_account_reserves_the_email_and_logs_it(
    store: DynamoProviderStore, tables: Tables, history: History
) -> None:
    # Given Alice's claim / When her registration is recorded (email in mixed case)
    provider = alice(store)
    store.claim(provider, "claim", NOW, NOW + LEASE)
    store.record_registration(provider, "Quillon.Vantreska@Example.com", "oh", "claim", NOW)

    # Then the record, the reservation and the event, and the claim is dropped
    assert alice(store) == Provider(
        provider_id=ALICE["providerId"],
        compact="aslp",
        given_name="Quillon",
        family_name="Vantreska",
        registered_email=ALICE_EMAIL,
        home_jurisdiction="oh",
        registered_at=NOW,
    )
    assert store.email_owner(ALICE_EMAIL) == ("aslp", ALICE["providerId"])
    assert store.email_owner("QUILLON.VANTRESKA@EXAMPLE.COM") == ("aslp", ALICE["providerId"])
    assert history("aslp", ALICE["providerId"], 10) == [AccountEvent("registered", NOW)]
    assert "claimId" not in raw_item(tables, ALICE)


def test_record_registration_without_the_claim_changes_nothing(
    store: DynamoProviderStore, history: History
) -> None:
    # Given someone else's claim replaced ours
    provider = alice(store)
    store.claim(provider, "theirs", NOW, NOW + LEASE)

    # When we record a registration with our claim id / Then it fails atomically
    with pytest.raises(ConditionFailed):
        store.record_registration(provider, ALICE_EMAIL, "oh", "ours", NOW)
    assert alice(store).registered_email is None
    assert store.email_owner(ALICE_EMAIL) is None
    assert history("aslp", ALICE["providerId"], 10) == []


def test_an_email_is_reserved_for_one_provider_only(
    store: DynamoProviderStore, history: History
) -> None:
    # Given Alice registered her email
    register(store, alice(store), ALICE_EMAIL)

    # When Bob's registration uses the same email in another case
    provider = bob(store)
    store.claim(provider, "bob", NOW, NOW + LEASE)
    with pytest.raises(ConditionFailed):
        store.record_registration(provider, ALICE_EMAIL.upper(), "co", "bob", NOW)

    # Then the whole transaction was refused: Bob has no account, the email stays Alice's
    after = bob(store)
    assert (after.registered_email, after.registered_at, after.claim_id) == (None, None, "bob")
    assert store.email_owner(ALICE_EMAIL) == ("aslp", ALICE["providerId"])
    assert history("octp", BOB["providerId"], 10) == []


def test_a_new_email_replaces_the_old_reservation(
    store: DynamoProviderStore, history: History
) -> None:
    # Given Alice registered one email
    first = register(store, alice(store), ALICE_EMAIL)

    # When she registers again with another
    later = NOW + timedelta(days=2)
    second = register(store, first, "q.vantreska@example.org", later)

    # Then only the new email is reserved, for her, and both registrations are in the history
    assert (second.registered_email, second.registered_at) == ("q.vantreska@example.org", later)
    assert store.email_owner(ALICE_EMAIL) is None
    assert store.email_owner("q.vantreska@example.org") == ("aslp", ALICE["providerId"])
    assert history("aslp", ALICE["providerId"], 10) == [
        AccountEvent("registered", later),
        AccountEvent("registered", NOW),
    ]
    # And the freed email can now go to Bob
    register(store, bob(store), ALICE_EMAIL, later)
    assert store.email_owner(ALICE_EMAIL) == ("octp", BOB["providerId"])


def test_registering_again_with_the_same_email_keeps_the_reservation(
    store: DynamoProviderStore,
) -> None:
    first = register(store, alice(store), ALICE_EMAIL)
    register(store, first, ALICE_EMAIL, NOW + timedelta(days=2))
    assert store.email_owner(ALICE_EMAIL) == ("aslp", ALICE["providerId"])


# --- recovery tokens -------------------------------------------------------------------------


def test_store_recovery_token_replaces_the_pending_one_and_logs_each_request(
    store: DynamoProviderStore, history: History
) -> None:
    registered = register(store, alice(store), ALICE_EMAIL)
    t1, t2 = NOW + timedelta(minutes=1), NOW + timedelta(minutes=2)

    store.store_recovery_token(
        registered, PendingRecovery("hash-1", t1 + timedelta(minutes=15), "id-hash-1"), t1
    )
    store.store_recovery_token(
        registered, PendingRecovery("hash-2", t2 + timedelta(minutes=15), "id-hash-2"), t2
    )

    assert alice(store).pending_recovery == PendingRecovery(
        "hash-2", t2 + timedelta(minutes=15), "id-hash-2", requested_at=t2, usable_from=t2
    )
    assert history("aslp", ALICE["providerId"], 10) == [
        AccountEvent("recovery_requested", t2),
        AccountEvent("recovery_requested", t1),
        AccountEvent("registered", NOW),
    ]


def test_locking_again_cuts_sessions_again_but_logs_one_lock(
    store: DynamoProviderStore, history: History
) -> None:
    registered = register(store, alice(store), ALICE_EMAIL)
    t1, t2 = NOW + timedelta(minutes=1), NOW + timedelta(minutes=2)

    store.lock(registered, t1, RequestOrigin("198.51.100.7", "Firefox on Linux"))
    store.lock(registered, t2, RequestOrigin("198.51.100.8", "Safari on macOS"))

    locked = alice(store)
    assert (locked.locked_at, locked.sessions_not_before) == (t1, t2)
    assert history("aslp", ALICE["providerId"], 10) == [
        AccountEvent("account_locked", t1, RequestOrigin("198.51.100.7", "Firefox on Linux")),
        AccountEvent("registered", NOW),
    ]


def test_locking_an_unknown_provider_fails(store: DynamoProviderStore) -> None:
    ghost = Provider("0f8d2b6e-3c1a-4f5e-9b7d-2a6c8e4f1b3d", "aslp", "No", "Body")
    with pytest.raises(ConditionFailed):
        store.lock(ghost, NOW, RequestOrigin())


def test_store_recovery_token_refuses_a_record_whose_email_changed(
    store: DynamoProviderStore, history: History
) -> None:
    # Given the caller read Alice before she registered a new email
    stale = register(store, alice(store), ALICE_EMAIL)
    register(store, stale, "q.vantreska@example.org", NOW + timedelta(minutes=1))

    # When it stores a token with that view / Then nothing is written, not even the event
    with pytest.raises(ConditionFailed):
        store.store_recovery_token(
            stale, PendingRecovery("hash", NOW + timedelta(minutes=15), "id-hash"), NOW
        )
    assert alice(store).pending_recovery is None
    assert [e.event_type for e in history("aslp", ALICE["providerId"], 10)] == [
        "registered",
        "registered",
    ]


def test_clear_recovery_token_forgets_only_the_token_it_names(
    store: DynamoProviderStore,
) -> None:
    registered = register(store, alice(store), ALICE_EMAIL)
    store.store_recovery_token(
        registered, PendingRecovery("hash-new", NOW + timedelta(minutes=15), "id-hash-new"), NOW
    )

    # A stale clear (an older token) leaves the newer one in place
    store.clear_recovery_token(registered, "hash-old")
    assert alice(store).pending_recovery == PendingRecovery(
        "hash-new", NOW + timedelta(minutes=15), "id-hash-new", requested_at=NOW, usable_from=NOW
    )

    # Clearing the pending one removes hash and expiry
    store.clear_recovery_token(registered, "hash-new")
    assert alice(store).pending_recovery is None


def test_complete_recovery_consumes_the_token_for_the_claim_holder_only(
    store: DynamoProviderStore, tables: Tables, history: History
) -> None:
    # Given Alice's pending token is claimed
    registered, asked = registered_with_claimed_link(store, "holder")
    done = asked + timedelta(seconds=5)

    # When someone without the claim completes / Then nothing changes
    with pytest.raises(ConditionFailed):
        store.complete_recovery(registered, "intruder", done)
    assert alice(store).pending_recovery is not None
    assert alice(store).recovered_at is None

    # When the holder completes
    store.complete_recovery(registered, "holder", done)

    # Then the token and claim are gone, recoveredAt is stamped and the event logged
    item = raw_item(tables, ALICE)
    for gone in ("recoveryTokenHash", "recoveryExpiresAt", "claimId", "claimedUntil"):
        assert gone not in item
    assert item["recoveredAt"] == "2030-05-01T12:01:05.000000Z"
    assert alice(store).recovered_at == done
    assert history("aslp", ALICE["providerId"], 2) == [
        AccountEvent("recovery_completed", done),
        AccountEvent("recovery_requested", asked),
    ]
    # And the consumed token can no longer be claimed
    with pytest.raises(ConditionFailed):
        store.claim(alice(store), "again", done, done + LEASE, token_hash="hash")


def test_events_written_out_of_order_are_read_newest_first_and_limited(
    store: DynamoProviderStore, history: History
) -> None:
    registered = register(store, alice(store), ALICE_EMAIL)
    moments = [NOW + timedelta(minutes=m) for m in (3, 1, 2)]  # written out of order
    for moment in moments:
        store.store_recovery_token(
            registered, PendingRecovery("h", moment + timedelta(minutes=15), "id-h"), moment
        )

    events = history("aslp", ALICE["providerId"], 3)

    assert events == [
        AccountEvent("recovery_requested", NOW + timedelta(minutes=m)) for m in (3, 2, 1)
    ]
    assert history("octp", BOB["providerId"], 3) == []


# --- AWS failures ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("ProvisionedThroughputExceededException", UpstreamUnavailable),
        ("ThrottlingException", UpstreamUnavailable),
        ("AccessDeniedException", UpstreamFailed),
    ],
)
def test_aws_errors_become_core_errors(tables: Tables, code: str, expected: type) -> None:
    store = DynamoProviderStore(tables.dynamo_providers)
    provider = alice(store)
    with Stubber(tables.dynamo_providers.client) as stub:
        stub.add_client_error("get_item", service_error_code=code, http_status_code=400)
        stub.add_client_error("transact_write_items", service_error_code=code, http_status_code=400)
        with pytest.raises(expected):
            store.get("aslp", ALICE["providerId"])
        with pytest.raises(expected):
            store.complete_recovery(provider, "claim", NOW)


def test_a_locked_account_is_not_claimed_nor_registered_again(
    store: DynamoProviderStore, tables: Tables
) -> None:
    # Given Alice's account, locked by a "Not me"
    registered = register(store, alice(store), ALICE_EMAIL)
    store.lock(registered, NOW, RequestOrigin())
    before = raw_item(tables, ALICE)

    # When a registration tries to claim it / Then it is refused and nothing changes
    with pytest.raises(ConditionFailed):
        store.claim(alice(store), "registering-again", NOW + LEASE * 2, NOW + LEASE * 3)
    assert raw_item(tables, ALICE) == before


def test_a_lock_that_lands_after_the_claim_refuses_the_registration(
    store: DynamoProviderStore, tables: Tables
) -> None:
    # Given a registration holds the claim of Alice's registered account
    registered = register(store, alice(store), ALICE_EMAIL)
    later = NOW + LEASE * 2
    store.claim(registered, "registering-again", later, later + LEASE)
    # And a "Not me" locks the account meanwhile
    store.lock(registered, later, RequestOrigin())

    # When the registration is recorded / Then it is refused: the email and history stand
    with pytest.raises(ConditionFailed):
        store.record_registration(registered, BOB_EMAIL, "ky", "registering-again", later)
    assert store.email_owner(BOB_EMAIL) is None
    assert store.email_owner(ALICE_EMAIL) == ("aslp", ALICE["providerId"])
    assert alice(store).registered_email == ALICE_EMAIL


@pytest.mark.parametrize("finished", [True, False], ids=["recovered", "recovery interrupted"])
def test_a_claim_decided_before_a_recovery_began_fails_once_it_has(
    store: DynamoProviderStore, finished: bool
) -> None:
    # Given a registration read Alice's account before a recovery claimed it (and completed
    # it, or failed after recreating her user)
    registered, asked = registered_with_claimed_link(store, "verify")
    if finished:
        store.complete_recovery(registered, "verify", asked + timedelta(seconds=5))
    assert alice(store).recovery_began

    # When that registration claims what it saw, once the recovery's claim lapsed
    later = asked + 2 * LEASE
    # Then it is refused
    with pytest.raises(ConditionFailed):
        store.claim(registered, "registering-again", later, later + LEASE)
    # But a claim by one who saw the recovery is granted
    store.claim(alice(store), "registering-again", later, later + LEASE)
    assert alice(store).claim_id == "registering-again"
