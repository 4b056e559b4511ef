"""DynamoProfileReader on moto: the provider, its licenses and newest events from one Query."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from core.adapters import profile_reads
from core.adapters.aws_clients import AWS_CLIENT_CONFIG, dynamodb_json_client
from core.adapters.dynamo_table import DynamoTable
from core.adapters.licenses import DynamoLicenseStore
from core.adapters.profile_reads import DynamoProfileReader
from core.adapters.providers import DynamoProviderStore
from core.config import Settings
from core.errors import UpstreamUnavailable
from core.models import AccountEvent, PendingRecovery
from tests.integration.conftest import REGION, Clients, Tables
from tests.support.data import ALICE, BOB
from tests.support.dynamodb_wire import Sent, throttled

NOW = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)
ALICE_EMAIL = "quillon.vantreska@example.com"


@pytest.fixture
def dynamodb(moto: Clients) -> Any:
    """A botocore client of the app's configuration, its own (so are the hooks a test adds)."""
    return boto3.session.Session(region_name=REGION).client("dynamodb", config=AWS_CLIENT_CONFIG)


@pytest.fixture
def reader(dynamodb: Any, tables: Tables, settings: Settings) -> DynamoProfileReader:
    """The reader as the app wires it: over the direct JSON client (core/adapters/dynamo_json)."""
    return DynamoProfileReader(DynamoTable(dynamodb_json_client(dynamodb), settings.provider_table))


def with_events(tables: Tables, count: int) -> list[AccountEvent]:
    """Given: Alice registered at NOW and asked for `count - 1` recovery links since, one a minute.

    Returns her events newest first.
    """
    store = DynamoProviderStore(tables.dynamo_providers)
    alice = store.get(ALICE["compact"], ALICE["providerId"])
    assert alice is not None
    store.claim(alice, "registering", NOW, NOW + timedelta(minutes=1))
    store.record_registration(alice, ALICE_EMAIL, "oh", "registering", NOW)
    registered = store.get(ALICE["compact"], ALICE["providerId"])
    assert registered is not None
    events = [AccountEvent("registered", NOW)]
    for minute in range(1, count):
        moment = NOW + timedelta(minutes=minute)
        store.store_recovery_token(
            registered, PendingRecovery("h", moment + timedelta(minutes=15), "id"), moment
        )
        events.append(AccountEvent("recovery_requested", moment))
    return events[::-1]


def test_one_page_holds_the_record_the_licenses_and_the_newest_events(
    reader: DynamoProfileReader, tables: Tables
) -> None:
    # Given Alice registered and asked for two links
    events = with_events(tables, 3)

    # When her profile is read
    profile = reader.read(ALICE["compact"], ALICE["providerId"], events=20)

    # Then it has her record, her licenses in key order and every event newest first
    assert profile is not None
    store = DynamoProviderStore(tables.dynamo_providers)
    assert profile.provider == store.get(ALICE["compact"], ALICE["providerId"])
    licenses = DynamoLicenseStore(tables.dynamo_providers)
    assert profile.licenses == licenses.list_for_provider(ALICE["compact"], ALICE["providerId"])
    assert [(lic.jurisdiction, lic.license_type) for lic in profile.licenses] == [
        ("ky", "audiologist"),
        ("oh", "audiologist"),
    ]
    assert profile.events == events


def test_pages_are_read_until_the_newest_events_are_in_hand(
    reader: DynamoProfileReader, tables: Tables, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given Alice has 8 events and a page holds 3 items
    events = with_events(tables, 8)
    monkeypatch.setattr(profile_reads, "PAGE_SIZE", 3)

    # When her profile with the newest 5 events is read
    profile = reader.read(ALICE["compact"], ALICE["providerId"], events=5)

    # Then the record, both licenses and exactly the newest 5 events came through the pages
    assert profile is not None
    assert profile.provider.registered_email == ALICE_EMAIL
    assert len(profile.licenses) == 2
    assert profile.events == events[:5]


def test_an_unknown_provider_reads_as_none(reader: DynamoProfileReader) -> None:
    assert reader.read(BOB["compact"], "00000000-0000-4000-8000-000000000000", events=20) is None
    # A provider of another compact is another partition
    assert reader.read("octp", ALICE["providerId"], events=20) is None


def test_throttling_past_the_retry_becomes_upstream_unavailable(
    reader: DynamoProfileReader, dynamodb: Any, tables: Tables, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given DynamoDB throttles the Query and its retry (without the jittered pause)
    monkeypatch.setattr("core.adapters.dynamo_json.time.sleep", lambda _seconds: None)
    sent = Sent(dynamodb.meta.events)
    sent.answers += [throttled(), throttled()]

    # When the profile is read, Then the caller is told the dependency is unavailable
    with pytest.raises(UpstreamUnavailable):
        reader.read(ALICE["compact"], ALICE["providerId"], events=20)
    assert sent.targets == ["DynamoDB_20120810.Query"] * 2
