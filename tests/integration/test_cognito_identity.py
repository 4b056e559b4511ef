"""CognitoIdentity on moto: users of a pool created by bootstrap, and AWS failures."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.stub import Stubber

from core.adapters.cognito import CognitoIdentity
from core.errors import ConditionFailed, UpstreamUnavailable
from core.models import RiskContext
from tests.integration.conftest import REGION, Pool
from tests.support.leaks import remember

EMAIL = "quillon.vantreska@example.com"
ATTRIBUTES = {
    "email": EMAIL,
    "email_verified": "true",
    "custom:compact": "aslp",
    "custom:providerId": "1c9a3e5f-7b2d-4f6a-8c1e-3d5b7a9c1e2f",
}
TEMPORARY = remember("Tmp-Password-4821!")
PERMANENT = remember("Perm-Password-7390?")


@pytest.fixture
def identity(pool: Pool) -> CognitoIdentity:
    return CognitoIdentity(pool.cognito, pool.pool_id, pool.client_id)


def sign_in_first_time(pool: Pool, temporary: str, permanent: str) -> None:
    """Answer NEW_PASSWORD_REQUIRED, as the frontend does at first sign-in."""
    started = pool.cognito.admin_initiate_auth(
        UserPoolId=pool.pool_id,
        ClientId=pool.client_id,
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": EMAIL, "PASSWORD": temporary},
    )
    pool.cognito.admin_respond_to_auth_challenge(
        UserPoolId=pool.pool_id,
        ClientId=pool.client_id,
        ChallengeName="NEW_PASSWORD_REQUIRED",
        Session=started["Session"],
        ChallengeResponses={"USERNAME": EMAIL, "NEW_PASSWORD": permanent},
    )


def test_create_user_makes_a_user_awaiting_its_first_sign_in(
    identity: CognitoIdentity,
) -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)

    identity.create_user(EMAIL, ATTRIBUTES, TEMPORARY)

    user = identity.get_user(EMAIL)
    assert user is not None
    assert (user.username, user.status, user.enabled) == (EMAIL, "FORCE_CHANGE_PASSWORD", True)
    assert user.awaits_first_sign_in
    assert {k: user.attributes[k] for k in ATTRIBUTES} == ATTRIBUTES
    assert user.last_modified.tzinfo is not None
    assert user.last_modified >= before


def test_create_user_suppresses_cognitos_own_message() -> None:
    client = boto3.client("cognito-idp", region_name=REGION)
    with Stubber(client) as stub:
        stub.add_response(
            "admin_create_user",
            {},
            {
                "UserPoolId": "pool",
                "Username": EMAIL,
                "UserAttributes": [{"Name": k, "Value": v} for k, v in ATTRIBUTES.items()],
                "TemporaryPassword": TEMPORARY,
                "MessageAction": "SUPPRESS",
            },
        )
        CognitoIdentity(client, "pool", "app").create_user(EMAIL, ATTRIBUTES, TEMPORARY)
        stub.assert_no_pending_responses()


def test_create_user_with_a_taken_name_is_condition_failed(identity: CognitoIdentity) -> None:
    identity.create_user(EMAIL, ATTRIBUTES, TEMPORARY)
    with pytest.raises(ConditionFailed):
        identity.create_user(EMAIL, ATTRIBUTES, "Other-Password-1234!")
    # (moto ignores the pool's CaseSensitive=False; the services lower-case emails themselves)
    assert identity.password_is_valid(EMAIL, TEMPORARY)


def test_get_user_of_an_unknown_user_is_none(identity: CognitoIdentity) -> None:
    assert identity.get_user("nobody@example.com") is None


def test_delete_user_is_idempotent(identity: CognitoIdentity) -> None:
    identity.create_user(EMAIL, ATTRIBUTES, TEMPORARY)

    identity.delete_user(EMAIL)
    identity.delete_user(EMAIL)

    assert identity.get_user(EMAIL) is None


def test_delete_user_first_revokes_the_users_refresh_tokens(
    identity: CognitoIdentity, pool: Pool
) -> None:
    # Given a signed-in user holding a refresh token (what a lost device keeps)
    identity.create_user(EMAIL, ATTRIBUTES, TEMPORARY)
    sign_in_first_time(pool, TEMPORARY, PERMANENT)
    signed_in = pool.cognito.admin_initiate_auth(
        UserPoolId=pool.pool_id,
        ClientId=pool.client_id,
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": EMAIL, "PASSWORD": PERMANENT},
    )
    refresh_token = signed_in["AuthenticationResult"]["RefreshToken"]

    def refresh() -> dict[str, Any]:
        return pool.cognito.admin_initiate_auth(  # type: ignore[no-any-return]
            UserPoolId=pool.pool_id,
            ClientId=pool.client_id,
            AuthFlow="REFRESH_TOKEN_AUTH",
            AuthParameters={"REFRESH_TOKEN": refresh_token},
        )

    assert "IdToken" in refresh()["AuthenticationResult"]
    # When the user is deleted and recreated under the same name, as recovery does
    identity.delete_user(EMAIL)
    identity.create_user(EMAIL, ATTRIBUTES, TEMPORARY)

    # Then the old refresh token mints no token any more
    with pytest.raises(pool.cognito.exceptions.NotAuthorizedException):
        refresh()


def test_delete_user_signs_out_before_it_deletes() -> None:
    client = boto3.client("cognito-idp", region_name=REGION)
    with Stubber(client) as stub:
        expected = {"UserPoolId": "pool", "Username": EMAIL}
        stub.add_response("admin_user_global_sign_out", {}, expected)
        stub.add_response("admin_delete_user", {}, expected)
        CognitoIdentity(client, "pool", "app").delete_user(EMAIL)
        stub.assert_no_pending_responses()


def test_set_temporary_password_forces_a_change_at_next_sign_in(
    identity: CognitoIdentity, pool: Pool
) -> None:
    # Given a user who signed in and chose a permanent password
    identity.create_user(EMAIL, ATTRIBUTES, TEMPORARY)
    sign_in_first_time(pool, TEMPORARY, PERMANENT)
    user = identity.get_user(EMAIL)
    assert user is not None
    assert user.status == "CONFIRMED"

    # When a new temporary password is set
    fresh = remember("Fresh-Password-5512#")
    identity.set_temporary_password(EMAIL, fresh)

    # Then the user must change it again, and it is the one that signs in
    user = identity.get_user(EMAIL)
    assert user is not None
    assert user.status == "FORCE_CHANGE_PASSWORD"
    assert identity.password_is_valid(EMAIL, fresh)


def test_password_is_valid_for_a_temporary_password_answered_by_a_challenge(
    identity: CognitoIdentity,
) -> None:
    identity.create_user(EMAIL, ATTRIBUTES, TEMPORARY)
    assert identity.password_is_valid(EMAIL, TEMPORARY) is True
    assert identity.password_is_valid(EMAIL, "Wrong-Password-0000!") is False


def test_password_is_valid_for_a_permanent_password_only(
    identity: CognitoIdentity, pool: Pool
) -> None:
    identity.create_user(EMAIL, ATTRIBUTES, TEMPORARY)
    sign_in_first_time(pool, TEMPORARY, PERMANENT)

    assert identity.password_is_valid(EMAIL, PERMANENT) is True
    assert identity.password_is_valid(EMAIL, TEMPORARY) is False
    assert identity.password_is_valid(EMAIL, "Wrong-Password-0000!") is False


def test_password_is_not_valid_for_an_unknown_user(identity: CognitoIdentity) -> None:
    assert identity.password_is_valid("nobody@example.com", PERMANENT) is False


# --- AWS failures ----------------------------------------------------------------------------

CALLS: dict[str, tuple[str, Callable[[CognitoIdentity], Any]]] = {
    "get_user": ("admin_get_user", lambda i: i.get_user(EMAIL)),
    "create_user": ("admin_create_user", lambda i: i.create_user(EMAIL, ATTRIBUTES, TEMPORARY)),
    "set_temporary_password": (
        "admin_set_user_password",
        lambda i: i.set_temporary_password(EMAIL, TEMPORARY),
    ),
    "delete_user": ("admin_delete_user", lambda i: i.delete_user(EMAIL)),
    "password_is_valid": ("admin_initiate_auth", lambda i: i.password_is_valid(EMAIL, TEMPORARY)),
}


@pytest.mark.parametrize("call", CALLS.values(), ids=CALLS.keys())
def test_throttling_becomes_upstream_unavailable(
    call: tuple[str, Callable[[CognitoIdentity], Any]],
) -> None:
    operation, use = call
    client = boto3.client("cognito-idp", region_name=REGION)
    with Stubber(client) as stub:
        stub.add_client_error(
            operation, service_error_code="TooManyRequestsException", http_status_code=400
        )
        with pytest.raises(UpstreamUnavailable):
            use(CognitoIdentity(client, "pool", "app"))


@pytest.mark.parametrize("call", CALLS.values(), ids=CALLS.keys())
def test_an_unreachable_endpoint_becomes_upstream_unavailable(
    call: tuple[str, Callable[[CognitoIdentity], Any]],
) -> None:
    # Nothing listens on the discard port of the loopback interface: the connection is refused.
    client = boto3.client(
        "cognito-idp",
        region_name=REGION,
        endpoint_url="http://127.0.0.1:9",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(connect_timeout=1, retries={"total_max_attempts": 1}),
    )
    _, use = call
    with pytest.raises(UpstreamUnavailable) as raised:
        use(CognitoIdentity(client, "pool", "app"))
    assert type(raised.value.__cause__).__name__ == "EndpointConnectionError"


def test_the_password_check_carries_the_callers_context_to_cognito(
    identity: CognitoIdentity, pool: Pool
) -> None:
    # Given a hook that sees what the adapter sends to AdminInitiateAuth
    sent: list[dict[str, Any]] = []
    hook = "provide-client-params.cognito-idp.AdminInitiateAuth"

    def capture(params: dict[str, Any], **_: Any) -> None:
        sent.append(dict(params))

    pool.cognito.meta.events.register(hook, capture)
    try:
        identity.create_user(EMAIL, ATTRIBUTES, TEMPORARY)
        risk = RiskContext("198.51.100.7", "Mozilla/5.0 (X11; Linux) Firefox/128.0", "ZW5jb2RlZA==")
        # When a password is checked with and without a risk context
        assert identity.password_is_valid(EMAIL, TEMPORARY, risk) is True
        assert identity.password_is_valid(EMAIL, TEMPORARY) is True
    finally:
        pool.cognito.meta.events.unregister(hook, capture)
    # Then the first call carried Cognito's ContextData, the second none
    assert sent[0]["ContextData"] == {
        "IpAddress": "198.51.100.7",
        "ServerName": "provider-accounts",
        "ServerPath": "/v1/provider-users/initiateRecovery",
        "HttpHeaders": [
            {"headerName": "User-Agent", "headerValue": "Mozilla/5.0 (X11; Linux) Firefox/128.0"}
        ],
        "EncodedData": "ZW5jb2RlZA==",
    }
    assert "ContextData" not in sent[1]
    assert repr(risk) == "RiskContext(ip='198.51.100.7')"


def test_disable_and_enable_user(identity: CognitoIdentity) -> None:
    identity.create_user(EMAIL, ATTRIBUTES, TEMPORARY)
    identity.disable_user(EMAIL)
    user = identity.get_user(EMAIL)
    assert user is not None
    assert user.enabled is False
    assert identity.password_is_valid(EMAIL, TEMPORARY) is False  # a disabled user is refused
    identity.enable_user(EMAIL)
    user = identity.get_user(EMAIL)
    assert user is not None
    assert user.enabled is True
    # A user already gone is not an error for either
    identity.delete_user(EMAIL)
    identity.disable_user(EMAIL)
    identity.enable_user(EMAIL)
