"""Every AWS action the service calls at run time, on which resource: the one IAM list.

infra/ grants the task role exactly these, README's IAM table is rendered from them, and
tests/infra records the calls of a whole journey to prove the list is neither short nor long.
When the service starts calling something new, add it here (and regenerate the README table
with `python -m core.permissions`).
"""

from __future__ import annotations

from dataclasses import dataclass

# What each resource is, as the README names it.
RESOURCES = {
    "provider_table": "the provider table",
    "license_index": "its `licenseLookup` index",
    "rate_limit_table": "the rate-limit table",
    "user_pool": "the user pool",
    "mail_identity": "the SES identity of `MAIL_FROM`",
    "mail_configuration_set": "the SES configuration set (`MAIL_CONFIGURATION_SET`)",
}


@dataclass(frozen=True)
class Permission:
    """One IAM action, the resources it is granted on, and what calls it."""

    action: str
    resources: tuple[str, ...]
    used_by: str

    @property
    def service(self) -> str:
        """The IAM service prefix (dynamodb, cognito-idp, ses)."""
        return self.action.split(":", 1)[0]


RUNTIME_PERMISSIONS: tuple[Permission, ...] = (
    Permission("dynamodb:GetItem", ("provider_table",), "provider records"),
    Permission(
        "dynamodb:PutItem",
        ("provider_table", "rate_limit_table"),
        "account events (in transactions), attempt counts",
    ),
    Permission(
        "dynamodb:UpdateItem",
        ("provider_table", "rate_limit_table"),
        "claims, tokens, registrations, mail caps (taking, keeping, freeing a slot)",
    ),
    Permission(
        "dynamodb:DeleteItem",
        ("provider_table",),
        'spending a "Not me" link, freeing a changed email (in transactions)',
    ),
    Permission(
        "dynamodb:Query",
        ("provider_table", "license_index", "rate_limit_table"),
        "licenses, history, license match, attempt windows",
    ),
    Permission("dynamodb:DescribeTable", ("provider_table", "rate_limit_table"), "readiness"),
    Permission("cognito-idp:AdminGetUser", ("user_pool",), "registering again"),
    Permission("cognito-idp:AdminCreateUser", ("user_pool",), "registration, recovery"),
    Permission("cognito-idp:AdminSetUserPassword", ("user_pool",), "a new invitation"),
    Permission(
        "cognito-idp:AdminUserGlobalSignOut",
        ("user_pool",),
        "before every delete: old refresh tokens stop working",
    ),
    Permission("cognito-idp:AdminDeleteUser", ("user_pool",), "recovery"),
    Permission(
        "cognito-idp:AdminDisableUser", ("user_pool",), '"Not me" after a recovery: locking'
    ),
    Permission("cognito-idp:AdminEnableUser", ("user_pool",), "`provider-accounts unlock`"),
    Permission("cognito-idp:AdminInitiateAuth", ("user_pool",), "recovery's password check"),
    Permission("cognito-idp:DescribeUserPool", ("user_pool",), "readiness"),
    Permission("ses:SendEmail", ("mail_identity", "mail_configuration_set"), "every email"),
)


def actions() -> set[str]:
    """The granted actions, without their resources."""
    return {permission.action for permission in RUNTIME_PERMISSIONS}


def grants() -> set[tuple[str, str]]:
    """Every (action, resource) pair the task role allows."""
    return {(p.action, resource) for p in RUNTIME_PERMISSIONS for resource in p.resources}


def markdown_table() -> str:
    """README's IAM table: one row per action."""
    rows = ["| action | resources | used by |", "|---|---|---|"]
    for permission in RUNTIME_PERMISSIONS:
        resources = ", ".join(RESOURCES[name] for name in permission.resources)
        rows.append(f"| `{permission.action}` | {resources} | {permission.used_by} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(markdown_table())  # noqa: T201 - the command's output
