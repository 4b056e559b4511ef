"""Adapters on moto: a fresh in-process AWS per test, with clients built once per session.

Building a boto3 client loads its service model (tens of milliseconds); moto's state is what
must be fresh per test, not the clients, so the clients are shared and mock_aws is per test.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws

from core.adapters.dynamo_table import DynamoTable
from core.adapters.licenses import DynamoLicenseStore
from core.adapters.providers import DynamoProviderStore
from core.config import Settings
from core.local.bootstrap import (
    ensure_app_client,
    ensure_provider_table,
    ensure_rate_limit_table,
    ensure_user_pool,
)
from core.local.seed import load_licenses, read_licenses
from tests.support.data import LICENSES_CSV

REGION = "us-east-1"


@dataclass(frozen=True)
class Clients:
    """boto3 clients of one session; they reach moto while mock_aws is active."""

    dynamodb: Any
    dynamodb_resource: Any
    cognito: Any
    ses: Any


@dataclass(frozen=True)
class Tables:
    """The provider and rate-limit tables: boto3 resources to inspect, DynamoTables for adapters."""

    providers: Any
    attempts: Any
    dynamo_providers: DynamoTable
    dynamo_attempts: DynamoTable


@dataclass(frozen=True)
class Pool:
    """A user pool created the way bootstrap creates it, and its app client."""

    cognito: Any
    pool_id: str
    client_id: str


@pytest.fixture(scope="session")
def clients() -> Iterator[Clients]:
    """Clients with fake credentials, created once."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ACCESS_KEY_ID", "testing")
        patch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        patch.delenv("AWS_ENDPOINT_URL", raising=False)
        patch.delenv("AWS_PROFILE", raising=False)
        session = boto3.session.Session(region_name=REGION)
        yield Clients(
            dynamodb=session.client("dynamodb"),
            dynamodb_resource=session.resource("dynamodb"),
            cognito=session.client("cognito-idp"),
            ses=session.client("ses"),
        )


@pytest.fixture
def moto(clients: Clients) -> Iterator[Clients]:
    """A fresh, empty moto for this test."""
    with mock_aws():
        yield clients


@pytest.fixture
def tables(moto: Clients, settings: Settings) -> Tables:
    """Both tables, created by bootstrap's own functions, seeded from tests/support."""
    ensure_provider_table(moto.dynamodb, settings.provider_table)
    ensure_rate_limit_table(moto.dynamodb, settings.rate_limit_table)
    dynamo_providers = DynamoTable(moto.dynamodb, settings.provider_table)
    load_licenses(
        read_licenses(LICENSES_CSV),
        DynamoLicenseStore(dynamo_providers),
        DynamoProviderStore(dynamo_providers),
    )
    return Tables(
        providers=moto.dynamodb_resource.Table(settings.provider_table),
        attempts=moto.dynamodb_resource.Table(settings.rate_limit_table),
        dynamo_providers=dynamo_providers,
        dynamo_attempts=DynamoTable(moto.dynamodb, settings.rate_limit_table),
    )


@pytest.fixture
def pool(moto: Clients) -> Pool:
    """A user pool and app client created by bootstrap's own functions."""
    pool_id = ensure_user_pool(moto.cognito)
    return Pool(
        cognito=moto.cognito, pool_id=pool_id, client_id=ensure_app_client(moto.cognito, pool_id)
    )
