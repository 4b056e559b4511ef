"""The profile's read side: one Query on the provider's partition instead of three reads."""

from __future__ import annotations

from typing import Any

from core.adapters import key_layout
from core.adapters.aws_errors import aws_call
from core.adapters.dynamo_table import DynamoTable
from core.adapters.licenses import to_license
from core.adapters.provider_items import to_event, to_provider
from core.models import AccountEvent, License, Profile

# Sort keys order a partition HISTORY < LICENSE < PROVIDER, so a descending Query meets the
# provider, then its licenses, then its events newest first. A page this size holds the whole
# profile of any provider with fewer than ~40 licenses: one round trip in practice.
PAGE_SIZE = 64


class DynamoProfileReader:
    """Reads a provider's record, licenses and newest events in one consistent Query."""

    def __init__(self, table: DynamoTable) -> None:
        self._table = table

    def read(self, compact: str, provider_id: str, events: int) -> Profile | None:
        """The provider's records, or None when the provider record does not exist."""
        request: dict[str, Any] = {
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :compact)",
            "ExpressionAttributeValues": {
                ":pk": key_layout.provider_pk(compact, provider_id),
                ":compact": f"{compact}#",
            },
            "ScanIndexForward": False,
            "ConsistentRead": True,
            "Limit": PAGE_SIZE,
        }
        provider_item: dict[str, Any] | None = None
        licenses: list[License] = []
        history: list[AccountEvent] = []
        provider_sk = key_layout.provider_sk(compact)
        license_prefix = key_layout.license_prefix(compact)
        history_prefix = key_layout.history_prefix(compact)
        with aws_call("dynamodb", "Query"):
            while True:
                items, last = self._table.query_page(**request)
                for item in items:
                    sort_key = item["sk"]
                    if sort_key == provider_sk:
                        provider_item = item
                    elif sort_key.startswith(license_prefix):
                        licenses.append(to_license(item))
                    elif sort_key.startswith(history_prefix) and len(history) < events:
                        history.append(to_event(item))
                if last is None or len(history) >= events:
                    break
                request["ExclusiveStartKey"] = last
        if provider_item is None:
            return None
        licenses.reverse()  # in sort-key order, as a license listing has always been
        return Profile(provider=to_provider(provider_item), licenses=licenses, events=history)
