"""The IAM list is exactly what the service calls: a whole journey recorded on moto.

Register → initiate recovery → verify → /me, plus readiness, run in-process against moto
with SES as the mail backend; a botocore hook records every call of the service's clients.
The recorded (action, resource) pairs must equal core.permissions, and the task role of the
synthesised stack must grant exactly core.permissions' actions.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest

from core import permissions
from core.adapters.key_layout import LICENSE_INDEX
from core.config import Settings
from core.services.not_me import unlock_account
from handlers.app import create_app
from handlers.context import EXTENSION_KEY
from tests.infra.conftest import resources_of
from tests.support.aws_calls import recording_aws_calls
from tests.support.background import draining_client
from tests.support.cognito import id_token_after_password_set
from tests.support.data import ALICE, initiate_body, registration_body
from tests.support.leaks import remember
from tests.support.mail import sent_by_ses

MAIL_DOMAIN = "mail.example.test"
CONFIGURATION_SET = "provider-accounts-test"
EMAIL = "iam.journey@example.com"
PASSWORD = remember("Iam-Journey-Password-1!")
PROCESSED = {"message": "request processed"}
INVITATION = "Your provider account"
NOTICE = "Was it you? Your provider account was recovered"


def dependencies(app: Any) -> Any:
    """The dependencies create_app wired into the app (as handlers reach them)."""
    return app.app.extensions[EXTENSION_KEY]


def difference(needed: set[Any], granted: set[Any]) -> str:
    """What is missing from the grants and what is granted for nothing, one per line."""
    lines = [f"missing (called, not granted): {item}" for item in sorted(needed - granted)]
    lines += [f"extra (granted, never called): {item}" for item in sorted(granted - needed)]
    return "core/permissions.py RUNTIME_PERMISSIONS does not match:\n" + "\n".join(lines)


@pytest.fixture
def ses_settings(aws: Settings) -> Settings:
    """The moto stack with SES as the mail backend, its identity and configuration set."""
    ses = boto3.client("ses", region_name=aws.aws_region)
    ses.verify_domain_identity(Domain=MAIL_DOMAIN)
    ses.create_configuration_set(ConfigurationSet={"Name": CONFIGURATION_SET})
    return aws.model_copy(
        update={
            "mail_backend": "ses",
            "mail_from": f"Provider Accounts <no-reply@{MAIL_DOMAIN}>",
            "mail_configuration_set": CONFIGURATION_SET,
            # The journey sends a second invitation on purpose (registering again).
            "mail_invitation_cap": 2,
        }
    )


def test_the_iam_list_is_exactly_what_a_whole_journey_calls(ses_settings, monkeypatch):
    # Given the test's own clients, made before recording starts (their calls do not count)
    settings = ses_settings
    idp = boto3.client("cognito-idp", region_name=settings.aws_region)
    names = {
        settings.provider_table: "provider_table",
        LICENSE_INDEX: "license_index",
        settings.rate_limit_table: "rate_limit_table",
        settings.user_pool_id: "user_pool",
        MAIL_DOMAIN: "mail_identity",
        CONFIGURATION_SET: "mail_configuration_set",
    }

    # When a provider registers (twice), recovers and opens her profile, and readiness is probed
    with recording_aws_calls(monkeypatch, names) as recorder:
        app = create_app(settings)
        with draining_client(app) as client:
            assert client.get("/v1/ready").json() == {"status": "ready"}
            registered = client.post(
                "/v1/provider-users/registration", json=registration_body(ALICE, EMAIL)
            )
            assert (registered.status_code, registered.json()) == (200, PROCESSED)
            # (the invitation went astray: she registers again and gets a new one)
            registered = client.post(
                "/v1/provider-users/registration", json=registration_body(ALICE, EMAIL)
            )
            assert (registered.status_code, registered.json()) == (200, PROCESSED)
            assert [m.subject for m in sent_by_ses(settings.aws_region)] == [INVITATION] * 2
            idp.admin_set_user_password(
                UserPoolId=settings.user_pool_id, Username=EMAIL, Password=PASSWORD, Permanent=True
            )
            initiated = client.post(
                "/v1/provider-users/initiateRecovery", json=initiate_body(ALICE, EMAIL, PASSWORD)
            )
            assert (initiated.status_code, initiated.json()) == (200, PROCESSED)
            link = sent_by_ses(settings.aws_region)[-1]
            assert (link.to, link.subject) == (EMAIL, "Confirm account recovery")
            verified = client.post(
                "/v1/provider-users/verifyRecovery",
                json={**link.recovery_params, "recaptchaToken": "ok"},
            )
            assert (verified.status_code, verified.json()) == (200, PROCESSED)
            invitation = [m for m in sent_by_ses(settings.aws_region) if m.subject != NOTICE][-1]
            # auth_time has whole seconds: a sign-in in the recovery's own second is refused.
            time.sleep(1.05 - time.time() % 1)
            id_token = id_token_after_password_set(idp, settings, EMAIL, PASSWORD)
            profile = client.get(
                "/v1/provider-users/me", headers={"Authorization": f"Bearer {id_token}"}
            )
            assert profile.status_code == 200
            assert profile.json()["email"] == EMAIL
            # (it was not her: "Not me" in the completion notice locks the account)
            notice = [m for m in sent_by_ses(settings.aws_region) if m.subject == NOTICE][-1]
            cancelled = client.post(
                "/v1/provider-users/cancelRecovery",
                json={**notice.not_me_params, "recaptchaToken": "ok"},
            )
            assert (cancelled.status_code, cancelled.json()) == (200, PROCESSED)
            assert sent_by_ses(settings.aws_region)[-1].subject == "Your provider account is locked"
            # (and an operator unlocks it, as `provider-accounts unlock` does)
            unlock_account(ALICE["compact"], ALICE["providerId"], "ops", dependencies(app).recovery)

    # Then every mail went out through SES
    assert (invitation.to, invitation.subject) == (EMAIL, "Your provider account was recovered")
    assert idp.admin_get_user(UserPoolId=settings.user_pool_id, Username=EMAIL)["Enabled"]
    # And the recorded calls are exactly the IAM list, resource by resource
    assert recorder.grants_needed == permissions.grants(), difference(
        recorder.grants_needed, permissions.grants()
    )


def as_list(value: Any) -> list[Any]:
    """A policy field that may hold one value or a list."""
    return value if isinstance(value, list) else [value]


def test_the_task_role_grants_exactly_the_iam_list(template_json):
    # Given the task role of the synthesised stack
    [role_id] = [
        logical_id
        for logical_id, role in resources_of(template_json, "AWS::IAM::Role").items()
        if "TaskRole" in logical_id and "ExecutionRole" not in logical_id
    ]
    statements = [
        statement
        for policy in resources_of(template_json, "AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Roles"]
        for statement in policy["PolicyDocument"]["Statement"]
    ]
    inline = template_json["Resources"][role_id]["Properties"]
    assert "Policies" not in inline
    assert "ManagedPolicyArns" not in inline

    # Then it allows exactly the listed actions, none with a wildcard, each on named resources
    name_of = resource_names(template_json)
    granted: set[tuple[str, str]] = set()
    for statement in statements:
        assert statement["Effect"] == "Allow"
        actions = as_list(statement["Action"])
        resources = as_list(statement["Resource"])
        assert all("*" not in action for action in actions), statement
        assert all("*" not in json.dumps(resource) for resource in resources), statement
        granted.update((a, name_of(r)) for a in actions for r in resources)
    assert {action for action, _ in granted} == permissions.actions(), difference(
        permissions.actions(), {action for action, _ in granted}
    )
    assert granted == permissions.grants(), difference(permissions.grants(), granted)


def resource_names(template_json: dict[str, Any]) -> Callable[[Any], str]:
    """Turns a policy's resource (an ARN expression) into its core.permissions name."""
    tables = resources_of(template_json, "AWS::DynamoDB::Table")
    table_ids = {
        name: next(i for i, t in tables.items() if t["TableName"].endswith(suffix))
        for name, suffix in (("provider_table", "-providers"), ("rate_limit_table", "-rate-limits"))
    }
    [pool_id] = resources_of(template_json, "AWS::Cognito::UserPool")
    [configuration_set_id] = resources_of(template_json, "AWS::SES::ConfigurationSet")
    provider_table_arn = {"Fn::GetAtt": [table_ids["provider_table"], "Arn"]}
    index_arn = {"Fn::Join": ["", [provider_table_arn, f"/index/{LICENSE_INDEX}"]]}
    known = {
        json.dumps(provider_table_arn): "provider_table",
        json.dumps({"Fn::GetAtt": [table_ids["rate_limit_table"], "Arn"]}): "rate_limit_table",
        json.dumps(index_arn): "license_index",
        json.dumps({"Fn::GetAtt": [pool_id, "Arn"]}): "user_pool",
    }

    def name_of(resource: Any) -> str:
        text = json.dumps(resource)
        if text in known:
            return known[text]
        if ":identity/" in text and '{"Ref": "MailDomain"}' in text:
            return "mail_identity"
        if ":configuration-set/" in text and f'{{"Ref": "{configuration_set_id}"}}' in text:
            return "mail_configuration_set"
        return f"?{text}"

    return name_of


def test_the_readme_iam_table_is_the_iam_list():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    begin, end = "<!-- iam-table:begin -->\n", "\n<!-- iam-table:end -->"
    assert begin in readme, "README.md lost its IAM table markers"
    assert end in readme, "README.md lost its IAM table markers"
    table = readme[readme.index(begin) + len(begin) : readme.index(end)]
    assert table == permissions.markdown_table(), (
        "README's IAM table is out of date: replace it with the output of "
        "`python -m core.permissions`"
    )
