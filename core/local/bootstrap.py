"""Idempotent provisioning: create whatever tables, user pool and app client are missing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from core.adapters.aws_errors import error_code
from core.config import Settings
from core.resources import (
    AUTH_FLOWS,
    CLIENT_NAME,
    MFA_CONFIGURATION,
    PASSWORD_POLICY,
    POOL_NAME,
    PROVIDER_TABLE,
    RATE_LIMIT_TABLE,
    Table,
    user_pool_schema,
)

__all__ = ["CLIENT_NAME", "POOL_NAME", "Provisioned", "bootstrap"]
SOFTWARE_TOKEN_ONLY = {
    "SoftwareTokenMfaConfiguration": {"Enabled": True},
    "MfaConfiguration": MFA_CONFIGURATION,
}


@dataclass(frozen=True)
class Provisioned:
    """The ids of what bootstrap found or created."""

    provider_table: str
    rate_limit_table: str
    user_pool_id: str
    user_pool_client_id: str

    def as_settings(self) -> dict[str, str]:
        """The settings that point the service at these resources."""
        return {
            "provider_table": self.provider_table,
            "rate_limit_table": self.rate_limit_table,
            "user_pool_id": self.user_pool_id,
            "user_pool_client_id": self.user_pool_client_id,
        }


def bootstrap(settings: Settings, dynamodb: Any, cognito: Any) -> Provisioned:
    """Create what is missing and return the ids of everything."""
    ensure_provider_table(dynamodb, settings.provider_table)
    ensure_rate_limit_table(dynamodb, settings.rate_limit_table)
    pool_id = settings.user_pool_id or ensure_user_pool(cognito)
    client_id = settings.user_pool_client_id or ensure_app_client(cognito, pool_id)
    return Provisioned(settings.provider_table, settings.rate_limit_table, pool_id, client_id)


def ensure_provider_table(dynamodb: Any, name: str) -> None:
    """Providers, licenses and history (pk/sk) with the license lookup index."""
    _create_table(dynamodb, PROVIDER_TABLE, name)


def ensure_rate_limit_table(dynamodb: Any, name: str) -> None:
    """Attempt counts (pk/sk) that expire through the ttl attribute."""
    _create_table(dynamodb, RATE_LIMIT_TABLE, name)


def ensure_user_pool(cognito: Any) -> str:
    """The pool named provider-accounts, created with MFA required if missing."""
    for page in cognito.get_paginator("list_user_pools").paginate(MaxResults=60):
        for pool in page["UserPools"]:
            if pool["Name"] == POOL_NAME:
                return str(pool["Id"])
    pool_id = cognito.create_user_pool(
        PoolName=POOL_NAME,
        MfaConfiguration=MFA_CONFIGURATION,
        Policies={"PasswordPolicy": PASSWORD_POLICY},
        UsernameConfiguration={"CaseSensitive": False},
        AdminCreateUserConfig={"AllowAdminCreateUserOnly": True},
        Schema=user_pool_schema(),
    )["UserPool"]["Id"]
    cognito.set_user_pool_mfa_config(UserPoolId=pool_id, **SOFTWARE_TOKEN_ONLY)
    return str(pool_id)


def ensure_app_client(cognito: Any, pool_id: str) -> str:
    """The web app client (no secret; password, admin password and refresh flows)."""
    for page in cognito.get_paginator("list_user_pool_clients").paginate(
        UserPoolId=pool_id, MaxResults=60
    ):
        for client in page["UserPoolClients"]:
            if client["ClientName"] == CLIENT_NAME:
                return str(client["ClientId"])
    return str(
        cognito.create_user_pool_client(
            UserPoolId=pool_id,
            ClientName=CLIENT_NAME,
            GenerateSecret=False,
            ExplicitAuthFlows=list(AUTH_FLOWS),
            PreventUserExistenceErrors="ENABLED",
        )["UserPoolClient"]["ClientId"]
    )


def _create_table(dynamodb: Any, table: Table, name: str) -> None:
    try:
        dynamodb.create_table(**table.create_table_request(name))
    except ClientError as error:
        if error_code(error) == "ResourceInUseException":
            return
        raise
    dynamodb.get_waiter("table_exists").wait(TableName=name)
    if table.ttl_attribute:
        dynamodb.update_time_to_live(
            TableName=name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": table.ttl_attribute},
        )
