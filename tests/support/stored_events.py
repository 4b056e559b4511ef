"""A provider's stored account events, read the way the service reads them (the profile Query)."""

from __future__ import annotations

from core.adapters.dynamo_table import DynamoTable
from core.adapters.profile_reads import DynamoProfileReader
from core.models import AccountEvent


def stored_events(
    table: DynamoTable, compact: str, provider_id: str, limit: int
) -> list[AccountEvent]:
    """The provider's newest `limit` events, newest first; none if the provider is not stored."""
    profile = DynamoProfileReader(table).read(compact, provider_id, limit)
    return profile.events if profile is not None else []
