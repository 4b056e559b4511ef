"""A real (moto) ID token for a registered test provider."""

from __future__ import annotations

from typing import Any

import boto3

from core.config import Settings
from tests.support.background import draining_client
from tests.support.data import ALICE, registration_body
from tests.support.leaks import remember

PASSWORD = remember("Signed-In-Test-Password-1!")


def signed_in_id_token(app: Any, aws: Settings, email: str = "alice@example.com") -> str:
    """Register ALICE through the app, give her a permanent password, return her ID token."""
    with draining_client(app) as client:
        body = registration_body(ALICE, email)
        assert client.post("/v1/provider-users/registration", json=body).status_code == 200
    idp = boto3.client("cognito-idp", region_name=aws.aws_region)
    return id_token_after_password_set(idp, aws, email, PASSWORD)


def id_token_after_password_set(idp: Any, aws: Settings, email: str, password: str) -> str:
    """Give the user a permanent password, sign in with the pool, return the ID token."""
    idp.admin_set_user_password(
        UserPoolId=aws.user_pool_id, Username=email, Password=password, Permanent=True
    )
    answer = idp.admin_initiate_auth(
        UserPoolId=aws.user_pool_id,
        ClientId=aws.user_pool_client_id,
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": email, "PASSWORD": password},
    )
    return remember(answer["AuthenticationResult"]["IdToken"])
