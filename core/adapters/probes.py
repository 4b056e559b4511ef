"""Cheap reachability checks of the tables and the user pool, for readiness."""

from __future__ import annotations

from typing import Any

from core.adapters.aws_errors import aws_call


class TableProbe:
    """DescribeTable on one table."""

    def __init__(self, client: Any, table: str, name: str) -> None:
        self._client = client
        self._table = table
        self.name = name

    def check(self) -> None:
        """Raises a core error if the table cannot be described or is not active."""
        with aws_call("dynamodb", "DescribeTable"):
            status = self._client.describe_table(TableName=self._table)["Table"]["TableStatus"]
        if status not in ("ACTIVE", "UPDATING"):
            raise RuntimeError(f"table status {status}")


class UserPoolProbe:
    """DescribeUserPool on the configured pool."""

    name = "user_pool"

    def __init__(self, client: Any, user_pool_id: str) -> None:
        self._client = client
        self._pool = user_pool_id

    def check(self) -> None:
        """Raises a core error if the pool cannot be described."""
        with aws_call("cognito-idp", "DescribeUserPool"):
            self._client.describe_user_pool(UserPoolId=self._pool)
