"""Sliding-window attempt counts in the rate-limit table, shared by every instance."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from core.adapters import key_layout
from core.adapters.aws_errors import aws_call
from core.adapters.dynamo_table import DynamoTable


class DynamoAttemptCounter:
    """Records one item per attempt; items expire through the table's ttl attribute."""

    def __init__(self, table: DynamoTable) -> None:
        self._table = table

    def record_and_count(self, key: str, now: datetime, window_seconds: int) -> int:
        """Record an attempt under `key` and return the attempts within the window, this one too."""
        self.record(key, now, window_seconds)
        return self.count(key, now, window_seconds)

    def record(self, key: str, now: datetime, window_seconds: int) -> None:
        """Record one attempt under `key`, kept as long as the window needs it."""
        expires = int((now + timedelta(seconds=window_seconds)).timestamp()) + 1
        with aws_call("dynamodb", "PutItem"):
            self._table.put_item(
                {"pk": key, "sk": f"{key_layout.to_stored(now)}#{uuid.uuid4().hex}", "ttl": expires}
            )

    def count(self, key: str, now: datetime, window_seconds: int) -> int:
        """The attempts recorded under `key` within the window ending now."""
        window_start = key_layout.to_stored(now - timedelta(seconds=window_seconds))
        # DynamoDB deletes expired items lazily (and moto never does): filter on ttl as well.
        with aws_call("dynamodb", "Query"):
            return self._table.count(
                KeyConditionExpression="pk = :pk AND sk > :start",
                FilterExpression="#ttl > :now",
                ExpressionAttributeNames={"#ttl": "ttl"},  # a reserved word
                ExpressionAttributeValues={
                    ":pk": key,
                    ":start": window_start,
                    ":now": int(now.timestamp()),
                },
                ConsistentRead=True,
            )
