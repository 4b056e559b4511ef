"""Attempt counts and capped reservations in the rate-limit table, shared by every instance."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from core.adapters import key_layout
from core.adapters.aws_errors import aws_call, conditional_write
from core.adapters.dynamo_table import DynamoTable
from core.errors import ConditionFailed
from core.models import Reservation

# A slot is free when it was never held, was released, or its hold has passed. DynamoDB
# deletes expired items lazily (and moto never does): the condition reads heldUntil itself.
_FREE = "attribute_not_exists(heldUntil) OR heldUntil <= :now"
_STILL_MINE = "heldBy = :holder"


class DynamoAttemptCounter:
    """Records one item per attempt, and one item per reservation slot; all expire by ttl."""

    def __init__(self, table: DynamoTable) -> None:
        self._table = table

    def record_and_count(self, key: str, now: datetime, window_seconds: int) -> int:
        """Record an attempt under `key` and return the attempts within the window, this one too."""
        self.record(key, now, window_seconds)
        return self.count(key, now, window_seconds)

    def record_within(self, key: str, now: datetime, window_seconds: int, limit: int) -> bool:
        """Record an attempt if the window holds no more than `limit`, this one included.

        It is recorded first and counted with the others, so concurrent attempts cannot all
        slip under the limit; one past it is then marked refused, and counts no more: being
        refused does not lengthen the wait.
        """
        sort_key = self._put(key, now, window_seconds)
        if self.count(key, now, window_seconds) <= limit:
            return True
        with aws_call("dynamodb", "UpdateItem"):
            self._table.update_item(
                {"pk": key, "sk": sort_key},
                UpdateExpression="SET refused = :yes",
                ExpressionAttributeValues={":yes": True},
            )
        return False

    def record(self, key: str, now: datetime, window_seconds: int) -> None:
        """Record one attempt under `key`, kept as long as the window needs it."""
        self._put(key, now, window_seconds)

    def _put(self, key: str, now: datetime, window_seconds: int) -> str:
        sort_key = f"{key_layout.to_stored(now)}#{uuid.uuid4().hex}"
        with aws_call("dynamodb", "PutItem"):
            self._table.put_item(
                {"pk": key, "sk": sort_key, "ttl": _ttl(now + timedelta(seconds=window_seconds))}
            )
        return sort_key

    def count(self, key: str, now: datetime, window_seconds: int) -> int:
        """The attempts recorded under `key` within the window ending now, refused ones aside."""
        window_start = key_layout.to_stored(now - timedelta(seconds=window_seconds))
        # DynamoDB deletes expired items lazily (and moto never does): filter on ttl as well.
        with aws_call("dynamodb", "Query"):
            return self._table.count(
                KeyConditionExpression="pk = :pk AND sk > :start",
                FilterExpression="#ttl > :now AND attribute_not_exists(refused)",
                ExpressionAttributeNames={"#ttl": "ttl"},  # a reserved word
                ExpressionAttributeValues={
                    ":pk": key,
                    ":start": window_start,
                    ":now": int(now.timestamp()),
                },
                ConsistentRead=True,
            )

    def reserve(
        self, key: str, now: datetime, cap: int, hold_until: datetime
    ) -> Reservation | None:
        """Hold a free one of `cap` slots under `key` until `hold_until`; None if all are held.

        Each slot is taken by one conditional write, which DynamoDB applies atomically: however
        many callers race, each slot has one winner, so at most `cap` hold at once.
        """
        holder = uuid.uuid4().hex
        for slot in range(cap):
            reservation = Reservation(key, slot, holder, now)
            try:
                self._write(
                    reservation,
                    "SET heldBy = :holder, heldUntil = :until, #ttl = :ttl",
                    _FREE,
                    {":until": key_layout.to_stored(hold_until), ":ttl": _ttl(hold_until)},
                    now=now,
                )
            except ConditionFailed:
                continue
            return reservation
        return None

    def confirm(self, reservation: Reservation, hold_until: datetime) -> None:
        """Hold a reservation until `hold_until` instead, if it is still this holder's."""
        try:
            self._write(
                reservation,
                "SET heldUntil = :until, #ttl = :ttl",
                _STILL_MINE,
                {":until": key_layout.to_stored(hold_until), ":ttl": _ttl(hold_until)},
            )
        except ConditionFailed:
            return  # its hold lapsed and someone else holds the slot now: theirs stands

    def release(self, reservation: Reservation) -> None:
        """Free a reservation at once, if it is still this holder's."""
        try:
            # The same action as taking it (UpdateItem), so the IAM grant stays one action.
            self._write(reservation, "REMOVE heldBy, heldUntil", _STILL_MINE, {})
        except ConditionFailed:
            return  # it lapsed already, and may be someone else's now: nothing of ours to free

    def _write(
        self,
        reservation: Reservation,
        update: str,
        condition: str,
        values: dict[str, Any],
        now: datetime | None = None,
    ) -> None:
        values = {":holder": reservation.holder, **values}
        if now is not None:
            values[":now"] = key_layout.to_stored(now)
        names = {"#ttl": "ttl"} if "#ttl" in update else {}
        with conditional_write("UpdateItem"):
            self._table.update_item(
                {"pk": reservation.key, "sk": f"slot#{reservation.slot}"},
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeValues=values,
                **({"ExpressionAttributeNames": names} if names else {}),
            )


def _ttl(expires: datetime) -> int:
    # A second past the moment, so DynamoDB never deletes an item while it still counts.
    return int(expires.timestamp()) + 1
