"""The AWS resources the service expects, defined once for `bootstrap` and for infra/ (CDK).

Both read these definitions, so the tables and the user pool an operator deploys cannot drift
from the ones the local stack creates and the code queries. Field names follow the AWS API
(which CloudFormation mirrors), so the tests compare a synthesised template with them directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.adapters.key_layout import LICENSE_INDEX


@dataclass(frozen=True)
class Index:
    """A global secondary index with string keys, projecting every attribute."""

    name: str
    partition_key: str
    sort_key: str


@dataclass(frozen=True)
class Table:
    """A DynamoDB table with string keys, billed per request."""

    partition_key: str
    sort_key: str
    indexes: tuple[Index, ...] = ()
    ttl_attribute: str | None = None

    def key_schema(self) -> list[dict[str, str]]:
        """KeySchema of the table."""
        return _key_schema(self.partition_key, self.sort_key)

    def attribute_definitions(self) -> list[dict[str, str]]:
        """AttributeDefinitions: every key attribute of the table and its indexes, once."""
        names = [self.partition_key, self.sort_key]
        for index in self.indexes:
            names += [n for n in (index.partition_key, index.sort_key) if n not in names]
        return [{"AttributeName": name, "AttributeType": "S"} for name in names]

    def global_secondary_indexes(self) -> list[dict[str, Any]]:
        """GlobalSecondaryIndexes (empty when the table has none)."""
        return [
            {
                "IndexName": index.name,
                "KeySchema": _key_schema(index.partition_key, index.sort_key),
                "Projection": {"ProjectionType": "ALL"},
            }
            for index in self.indexes
        ]

    def create_table_request(self, name: str) -> dict[str, Any]:
        """The CreateTable parameters of this table under `name`."""
        request: dict[str, Any] = {
            "TableName": name,
            "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": self.attribute_definitions(),
            "KeySchema": self.key_schema(),
        }
        if self.indexes:
            request["GlobalSecondaryIndexes"] = self.global_secondary_indexes()
        return request


def _key_schema(partition_key: str, sort_key: str) -> list[dict[str, str]]:
    return [
        {"AttributeName": partition_key, "KeyType": "HASH"},
        {"AttributeName": sort_key, "KeyType": "RANGE"},
    ]


# Providers, licenses and history share a partition; licenses are found by their facts.
PROVIDER_TABLE = Table(
    partition_key="pk",
    sort_key="sk",
    indexes=(Index(LICENSE_INDEX, "licenseLookupPk", "licenseLookupSk"),),
)
# Attempt counts; DynamoDB deletes them once `ttl` passes (the code filters on it too).
RATE_LIMIT_TABLE = Table(partition_key="pk", sort_key="sk", ttl_attribute="ttl")

POOL_NAME = "provider-accounts"
CLIENT_NAME = "provider-accounts-web"
# MFA is required and only an authenticator app (TOTP) may provide it: SMS can be hijacked.
MFA_CONFIGURATION = "ON"
PASSWORD_POLICY: dict[str, Any] = {
    "MinimumLength": 12,
    "RequireUppercase": True,
    "RequireLowercase": True,
    "RequireNumbers": True,
    "RequireSymbols": True,
    "TemporaryPasswordValidityDays": 7,
}
# They bind a user to a provider record: nobody may change them after creation.
CUSTOM_ATTRIBUTES = ("compact", "providerId")
CUSTOM_ATTRIBUTE_MAX_LENGTH = 64
# The service signs users in server-to-server (admin flow) and the web app with SRP-free
# password auth, as the local stack does; refresh keeps sessions going.
AUTH_FLOWS = (
    "ALLOW_USER_PASSWORD_AUTH",
    "ALLOW_ADMIN_USER_PASSWORD_AUTH",
    "ALLOW_REFRESH_TOKEN_AUTH",
)


def user_pool_schema() -> list[dict[str, Any]]:
    """The custom attributes, as CreateUserPool's Schema."""
    return [
        {
            "Name": name,
            "AttributeDataType": "String",
            "Mutable": False,
            "StringAttributeConstraints": {
                "MinLength": "1",
                "MaxLength": str(CUSTOM_ATTRIBUTE_MAX_LENGTH),
            },
        }
        for name in CUSTOM_ATTRIBUTES
    ]
