"""DynamoAttemptCounter on moto: a sliding window that ignores expired items itself."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from botocore.stub import Stubber

from core.adapters import key_layout
from core.adapters.attempts import DynamoAttemptCounter
from core.errors import UpstreamUnavailable
from tests.integration.conftest import Tables

NOW = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)
KEY = "verify#aslp#1c9a3e5f-7b2d-4f6a-8c1e-3d5b7a9c1e2f"


@pytest.fixture
def counter(tables: Tables) -> DynamoAttemptCounter:
    return DynamoAttemptCounter(tables.dynamo_attempts)


def at(seconds: float) -> datetime:
    return NOW + timedelta(seconds=seconds)


def test_attempts_within_the_window_are_counted_including_this_one(
    counter: DynamoAttemptCounter,
) -> None:
    assert [counter.record_and_count(KEY, at(s), 60) for s in (0, 10, 59)] == [1, 2, 3]


def test_attempts_older_than_the_window_are_not_counted(counter: DynamoAttemptCounter) -> None:
    # Given attempts at 0 s and 30 s
    counter.record_and_count(KEY, at(0), 60)
    counter.record_and_count(KEY, at(30), 60)

    # When one comes at 61 s with a 60-second window / Then the one at 0 s has left the window
    assert counter.record_and_count(KEY, at(61), 60) == 2
    # And at 200 s only that attempt counts
    assert counter.record_and_count(KEY, at(200), 60) == 1


def test_keys_are_counted_separately(counter: DynamoAttemptCounter) -> None:
    counter.record_and_count(KEY, at(0), 60)
    assert counter.record_and_count("initiate#aslp#other", at(1), 60) == 1


def test_each_attempt_is_stored_with_a_ttl_past_the_window(
    counter: DynamoAttemptCounter, tables: Tables
) -> None:
    counter.record_and_count(KEY, at(0), 60)

    items = tables.attempts.scan()["Items"]

    assert len(items) == 1
    assert items[0]["pk"] == KEY
    assert items[0]["sk"].startswith("2030-05-01T12:00:00.000000Z#")
    assert int(items[0]["ttl"]) == int(at(61).timestamp())


def test_items_whose_ttl_has_passed_are_not_counted(
    counter: DynamoAttemptCounter, tables: Tables
) -> None:
    # Given an item inside the window whose ttl already passed (DynamoDB deletes such items
    # lazily, and moto never does)
    tables.attempts.put_item(
        Item={"pk": KEY, "sk": f"{key_layout.to_stored(at(-5))}#x", "ttl": int(at(-1).timestamp())}
    )

    # When an attempt is counted / Then the expired item is ignored although it is still stored
    assert counter.record_and_count(KEY, at(0), 60) == 1
    assert tables.attempts.scan(Select="COUNT")["Count"] == 2


def test_throttling_becomes_upstream_unavailable(
    counter: DynamoAttemptCounter, tables: Tables
) -> None:
    with Stubber(tables.dynamo_attempts.client) as stub:
        stub.add_client_error(
            "put_item", service_error_code="ProvisionedThroughputExceededException"
        )
        with pytest.raises(UpstreamUnavailable):
            counter.record_and_count(KEY, at(0), 60)


def test_attempts_within_the_limit_are_let_through_and_one_past_it_is_refused(
    counter: DynamoAttemptCounter, tables: Tables
) -> None:
    assert [counter.record_within(KEY, at(s), 60, 3) for s in (0, 10, 20, 30)] == [
        True,
        True,
        True,
        False,
    ]
    # And the refused attempt is kept, marked, out of the count
    refused = [item for item in tables.attempts.scan()["Items"] if item.get("refused")]
    assert [item["sk"][:26] for item in refused] == [key_layout.to_stored(at(30))[:26]]
    assert counter.count(KEY, at(30), 60) == 3


def test_refused_attempts_do_not_lengthen_the_wait(counter: DynamoAttemptCounter) -> None:
    # Given three attempts let through at 0 s, then refusals every 15 s
    for s in (0, 0, 0):
        assert counter.record_within(KEY, at(s), 60, 3)
    assert [counter.record_within(KEY, at(s), 60, 3) for s in (15, 30, 45)] == [False] * 3

    # When the first three leave the window / Then the next attempt is let through
    assert counter.record_within(KEY, at(61), 60, 3)
