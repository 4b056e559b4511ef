"""One DynamoDB table over a shared low-level client, with plain Python values in and out.

boto3's Table resource is not thread-safe and re-walks the service model on every call to
convert values; a low-level client is thread-safe, and the type (de)serializers convert only
the attribute values, so every request thread shares one client.
"""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()

Item = dict[str, Any]


def to_attributes(item: Item) -> dict[str, Any]:
    """DynamoDB's typed form of a plain item ({"S": ...} per attribute)."""
    return {name: _serializer.serialize(value) for name, value in item.items()}


def from_attributes(attributes: dict[str, Any]) -> Item:
    """A plain item from DynamoDB's typed form; numbers come back as Decimal."""
    return {name: _deserializer.deserialize(value) for name, value in attributes.items()}


class DynamoTable:
    """The calls the adapters make on one table, taking and returning plain values."""

    def __init__(self, client: Any, name: str) -> None:
        self.client = client
        self.name = name

    def get_item(self, key: Item, *, consistent: bool = True) -> Item | None:
        """The item with this key, or None."""
        answer = self.client.get_item(
            TableName=self.name, Key=to_attributes(key), ConsistentRead=consistent
        )
        return from_attributes(answer["Item"]) if "Item" in answer else None

    def put_item(self, item: Item) -> None:
        """Write one item unconditionally."""
        self.client.put_item(TableName=self.name, Item=to_attributes(item))

    def update_item(self, key: Item, **request: Any) -> None:
        """UpdateItem with plain values in ExpressionAttributeValues."""
        self.client.update_item(TableName=self.name, Key=to_attributes(key), **_typed(request))

    def query_page(self, **request: Any) -> tuple[list[Item], Item | None]:
        """One page of a Query: its items and the key to continue from, if any."""
        request = _typed(request)
        if "ExclusiveStartKey" in request:
            request["ExclusiveStartKey"] = to_attributes(request["ExclusiveStartKey"])
        page = self.client.query(TableName=self.name, **request)
        last = page.get("LastEvaluatedKey")
        items = [from_attributes(i) for i in page.get("Items", [])]
        return items, (from_attributes(last) if last else None)

    def count(self, **request: Any) -> int:
        """How many items a Query (Select=COUNT) matches, over every page."""
        request = _typed(request)
        total = 0
        while True:
            page = self.client.query(TableName=self.name, Select="COUNT", **request)
            total += int(page["Count"])
            if "LastEvaluatedKey" not in page:
                return total
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]  # already in typed form

    def transact_write(self, actions: list[dict[str, Any]]) -> None:
        """TransactWriteItems; each action is {"Put"|"Update"|"Delete": {...}} with plain values."""
        self.client.transact_write_items(
            TransactItems=[
                {kind: _typed_action(body) for kind, body in action.items()} for action in actions
            ]
        )


def _typed(request: dict[str, Any]) -> dict[str, Any]:
    request = dict(request)
    if "ExpressionAttributeValues" in request:
        request["ExpressionAttributeValues"] = to_attributes(request["ExpressionAttributeValues"])
    return request


def _typed_action(body: dict[str, Any]) -> dict[str, Any]:
    body = _typed(body)
    for part in ("Item", "Key"):
        if part in body:
            body[part] = to_attributes(body[part])
    return body
