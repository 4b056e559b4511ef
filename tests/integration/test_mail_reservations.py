"""DynamoAttemptCounter's reservation slots on moto: one conditional write decides each slot."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from botocore.stub import Stubber

from core.adapters.attempts import DynamoAttemptCounter
from core.errors import UpstreamUnavailable
from tests.integration.conftest import Tables

NOW = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)
KEY = "mail#notice#5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8"


@pytest.fixture
def counter(tables: Tables) -> DynamoAttemptCounter:
    return DynamoAttemptCounter(tables.dynamo_attempts)


def at(seconds: float) -> datetime:
    return NOW + timedelta(seconds=seconds)


def slots(tables: Tables) -> list[dict[str, object]]:
    """The slot items under KEY, as stored."""
    items = tables.attempts.scan()["Items"]
    return sorted((i for i in items if i["pk"] == KEY), key=lambda i: str(i["sk"]))


def test_each_slot_is_won_once_until_its_hold_passes(counter: DynamoAttemptCounter) -> None:
    # Given a cap of two, both slots taken at 0 s and held for 60 s
    first = counter.reserve(KEY, at(0), 2, at(60))
    second = counter.reserve(KEY, at(1), 2, at(61))
    assert first is not None
    assert second is not None
    assert (first.slot, second.slot) == (0, 1)
    # Then a third is refused while both are held
    assert counter.reserve(KEY, at(59.999999), 2, at(120)) is None
    # And the first slot is free again the moment its hold passes
    third = counter.reserve(KEY, at(60), 2, at(120))
    assert third is not None
    assert (third.key, third.slot, third.taken_at) == (KEY, 0, at(60))
    assert third.holder not in (first.holder, second.holder)


def test_a_slot_is_stored_with_its_holder_hold_and_a_ttl_past_it(
    counter: DynamoAttemptCounter, tables: Tables
) -> None:
    reservation = counter.reserve(KEY, at(0), 1, at(60))
    assert reservation is not None

    assert slots(tables) == [
        {
            "pk": KEY,
            "sk": "slot#0",
            "heldBy": reservation.holder,
            "heldUntil": "2030-05-01T12:01:00.000000Z",
            "ttl": int(at(61).timestamp()),
        }
    ]


def test_confirm_holds_the_slot_longer_and_release_frees_it(
    counter: DynamoAttemptCounter, tables: Tables
) -> None:
    # Given a slot held for a 60-second lease, then confirmed for an hour
    reservation = counter.reserve(KEY, at(0), 1, at(60))
    assert reservation is not None
    counter.confirm(reservation, at(3600))
    # Then it is still held after the lease, and its ttl follows the hour
    assert counter.reserve(KEY, at(61), 1, at(121)) is None
    assert slots(tables)[0]["ttl"] == int(at(3601).timestamp())
    # When it is released / Then the next caller wins it at once
    counter.release(reservation)
    assert counter.reserve(KEY, at(62), 1, at(122)) is not None


def test_a_lapsed_reservation_neither_frees_nor_extends_its_new_holders_slot(
    counter: DynamoAttemptCounter, tables: Tables
) -> None:
    # Given a hold that lapsed, and the slot won by someone else since
    old = counter.reserve(KEY, at(0), 1, at(60))
    assert old is not None
    new = counter.reserve(KEY, at(70), 1, at(130))
    assert new is not None
    # When the old holder releases, or confirms, late
    counter.release(old)
    counter.confirm(old, at(3600))
    # Then the new holder's slot stands as it was
    [item] = slots(tables)
    assert (item["heldBy"], item["heldUntil"]) == (new.holder, "2030-05-01T12:02:10.000000Z")


def test_throttling_a_reservation_becomes_upstream_unavailable(
    counter: DynamoAttemptCounter, tables: Tables
) -> None:
    with Stubber(tables.dynamo_attempts.client) as stub:
        stub.add_client_error(
            "update_item", service_error_code="ProvisionedThroughputExceededException"
        )
        with pytest.raises(UpstreamUnavailable):
            counter.reserve(KEY, at(0), 1, at(60))
