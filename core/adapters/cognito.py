"""The Cognito user pool: create, inspect, delete users and check a password server-side."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from botocore.exceptions import ClientError

from core.adapters.aws_errors import aws_call, error_code
from core.errors import ConditionFailed
from core.models import IdentityUser, RiskContext

# Answers of ADMIN_USER_PASSWORD_AUTH that mean "not this password" (or no usable user); Cognito
# deliberately answers the same for a wrong password and an unknown user when configured to.
_REJECTED = frozenset(
    {
        "NotAuthorizedException",
        "UserNotFoundException",
        "UserNotConfirmedException",
        "PasswordResetRequiredException",
    }
)


class CognitoIdentity:
    """One user pool and its app client."""

    def __init__(
        self, client: Any, user_pool_id: str, client_id: str, server_name: str = "provider-accounts"
    ) -> None:
        self._client = client
        self._pool = user_pool_id
        self._app_client = client_id
        self._server = server_name

    def get_user(self, username: str) -> IdentityUser | None:
        """The user, or None if the pool has no such user."""
        with aws_call("cognito-idp", "AdminGetUser"):
            try:
                answer = self._client.admin_get_user(UserPoolId=self._pool, Username=username)
            except ClientError as error:
                if error_code(error) == "UserNotFoundException":
                    return None
                raise
        modified = answer["UserLastModifiedDate"]
        return IdentityUser(
            username=answer["Username"],
            status=answer["UserStatus"],
            enabled=bool(answer.get("Enabled", True)),
            last_modified=modified if modified.tzinfo else modified.replace(tzinfo=UTC),
            attributes={a["Name"]: a["Value"] for a in answer.get("UserAttributes", [])},
        )

    def create_user(
        self, username: str, attributes: dict[str, str], temporary_password: str
    ) -> None:
        """Create the user without Cognito's own message; ConditionFailed if the name is taken."""
        with aws_call("cognito-idp", "AdminCreateUser"):
            try:
                self._client.admin_create_user(
                    UserPoolId=self._pool,
                    Username=username,
                    UserAttributes=[{"Name": k, "Value": v} for k, v in attributes.items()],
                    TemporaryPassword=temporary_password,
                    MessageAction="SUPPRESS",
                )
            except ClientError as error:
                if error_code(error) == "UsernameExistsException":
                    # `from None`: the AWS message can hold the username (an email), and this
                    # expected condition would otherwise ride along in the traceback of any
                    # failure logged while handling it.
                    raise ConditionFailed("The username is taken") from None
                raise

    def set_temporary_password(self, username: str, temporary_password: str) -> None:
        """Give the user a new temporary password (they must change it at sign-in)."""
        with aws_call("cognito-idp", "AdminSetUserPassword"):
            self._client.admin_set_user_password(
                UserPoolId=self._pool,
                Username=username,
                Password=temporary_password,
                Permanent=False,
            )

    def delete_user(self, username: str) -> None:
        """Sign the user out everywhere, then delete it; a user already gone is not an error."""
        # Deleting alone leaves refresh tokens that Cognito may honour for a while, and whoever
        # holds a lost device holds them; a global sign-out revokes every one of them first.
        with aws_call("cognito-idp", "AdminUserGlobalSignOut"):
            try:
                self._client.admin_user_global_sign_out(UserPoolId=self._pool, Username=username)
            except ClientError as error:
                if error_code(error) == "UserNotFoundException":
                    return
                raise
        with aws_call("cognito-idp", "AdminDeleteUser"):
            try:
                self._client.admin_delete_user(UserPoolId=self._pool, Username=username)
            except ClientError as error:
                if error_code(error) != "UserNotFoundException":
                    raise

    def disable_user(self, username: str) -> None:
        """Refuse every sign-in and token refresh of the user; a user already gone is fine."""
        with aws_call("cognito-idp", "AdminDisableUser"):
            try:
                self._client.admin_disable_user(UserPoolId=self._pool, Username=username)
            except ClientError as error:
                if error_code(error) != "UserNotFoundException":
                    raise

    def enable_user(self, username: str) -> None:
        """Let a disabled user sign in again; a user already gone is fine."""
        with aws_call("cognito-idp", "AdminEnableUser"):
            try:
                self._client.admin_enable_user(UserPoolId=self._pool, Username=username)
            except ClientError as error:
                if error_code(error) != "UserNotFoundException":
                    raise

    def password_is_valid(
        self, username: str, password: str, risk: RiskContext | None = None
    ) -> bool:
        """Whether the password passes the first leg of sign-in (tokens or any challenge).

        With a risk context, Cognito threat protection (where the pool has it) judges the
        attempt by the caller's address and device, not by this server's.
        """
        extra = {"ContextData": _context_data(risk, self._server)} if risk else {}
        with aws_call("cognito-idp", "AdminInitiateAuth"):
            try:
                answer = self._client.admin_initiate_auth(
                    UserPoolId=self._pool,
                    ClientId=self._app_client,
                    AuthFlow="ADMIN_USER_PASSWORD_AUTH",
                    AuthParameters={"USERNAME": username, "PASSWORD": password},
                    **extra,
                )
            except ClientError as error:
                if error_code(error) in _REJECTED:
                    return False
                raise
        # Tokens (if any) are dropped right here: they are never logged, stored or returned.
        return "AuthenticationResult" in answer or "ChallengeName" in answer


def _context_data(risk: RiskContext, server_name: str) -> dict[str, Any]:
    """Cognito's ContextData: the caller's address, its browser header, the frontend's data."""
    headers = (
        [{"headerName": "User-Agent", "headerValue": risk.user_agent}] if risk.user_agent else []
    )
    data: dict[str, Any] = {
        "IpAddress": risk.ip,
        "ServerName": server_name,
        "ServerPath": "/v1/provider-users/initiateRecovery",
        "HttpHeaders": headers,
    }
    if risk.encoded_data:
        data["EncodedData"] = risk.encoded_data
    return data
