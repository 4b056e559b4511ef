"""POST /v1/provider-users/registration through the Connexion app on moto."""

from __future__ import annotations

import html
import logging
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from core.adapters.aws_clients import aws_client
from core.adapters.dynamo_table import DynamoTable
from core.adapters.providers import DynamoProviderStore
from core.config import Settings
from tests.support.data import ALICE, BOB, registration_body
from tests.support.mail import read_outbox

URL = "/v1/provider-users/registration"
PROCESSED = {"message": "request processed"}


def provider(aws: Settings, person: dict[str, str]):  # noqa: ANN201
    """The stored provider record."""
    store = DynamoProviderStore(DynamoTable(aws_client(aws, "dynamodb"), aws.provider_table))
    return store.get(person["compact"], person["providerId"])


def cognito_user(aws: Settings, username: str) -> dict | None:
    """The Cognito user as AdminGetUser returns it, or None."""
    client = boto3.client("cognito-idp", region_name=aws.aws_region)
    try:
        return client.admin_get_user(UserPoolId=aws.user_pool_id, Username=username)
    except client.exceptions.UserNotFoundException:
        return None


def test_registering_a_licensee_creates_the_account_and_sends_the_invitation(client, aws):
    # Given Alice's license record and no account
    # When she registers (names in another case, email in upper case)
    body = registration_body(ALICE, "Alice@Example.com")
    body["familyName"] = ALICE["familyName"].upper()
    answer = client.post(URL, json=body)

    # Then the generic answer
    assert answer.status_code == 200
    assert answer.json() == PROCESSED
    # And a Cognito user named by the lower-cased email, tied to her provider record
    user = cognito_user(aws, "alice@example.com")
    assert user is not None
    assert user["UserStatus"] == "FORCE_CHANGE_PASSWORD"
    attributes = {a["Name"]: a["Value"] for a in user["UserAttributes"]}
    assert attributes["email"] == "alice@example.com"
    assert attributes["email_verified"] == "true"
    assert attributes["custom:compact"] == "aslp"
    assert attributes["custom:providerId"] == ALICE["providerId"]
    # And the registration is recorded with the matched license's jurisdiction
    record = provider(aws, ALICE)
    assert record.registered_email == "alice@example.com"
    assert record.home_jurisdiction == "oh"
    assert record.claim_id is None
    # And exactly one invitation, to her, whose temporary password signs in
    [mail] = read_outbox(aws.outbox_dir)
    assert mail.to == "alice@example.com"
    assert mail.subject == "Your provider account"
    assert f"Hello {ALICE['givenName']} {ALICE['familyName']}," in mail.text
    assert "Username: alice@example.com\n" in mail.text
    assert "https://app.example.test/sign-in" in mail.text
    assert "https://app.example.test/account-recovery" in mail.text
    assert "multi-factor authentication" in mail.text
    assert html.escape(mail.temporary_password) in mail.html
    idp = boto3.client("cognito-idp", region_name=aws.aws_region)
    challenge = idp.admin_initiate_auth(
        UserPoolId=aws.user_pool_id,
        ClientId=aws.user_pool_client_id,
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "alice@example.com", "PASSWORD": mail.temporary_password},
    )
    assert challenge["ChallengeName"] == "NEW_PASSWORD_REQUIRED"


def test_no_matching_license_answers_the_same_and_sends_nothing(client, aws):
    body = registration_body(ALICE, "alice@example.com")
    body["partialSocial"] = "0000"

    answer = client.post(URL, json=body)

    assert (answer.status_code, answer.json()) == (200, PROCESSED)
    assert read_outbox(aws.outbox_dir) == []
    assert cognito_user(aws, "alice@example.com") is None
    assert provider(aws, ALICE).registered_email is None


def test_registering_again_notifies_the_registered_address_and_changes_nothing(client, aws):
    # Given Alice registered a moment ago
    client.post(URL, json=registration_body(ALICE, "alice@example.com"))
    [invitation] = read_outbox(aws.outbox_dir)

    # When someone registers her license with another email
    answer = client.post(URL, json=registration_body(ALICE, "mallory@example.com"))

    # Then the same answer, a notice to Alice, and no account for the other email
    assert (answer.status_code, answer.json()) == (200, PROCESSED)
    notice = read_outbox(aws.outbox_dir)[-1]
    assert notice.to == "alice@example.com"
    assert notice.subject == "Someone tried to register your provider account"
    assert "Temporary password" not in notice.text
    assert cognito_user(aws, "mallory@example.com") is None
    assert provider(aws, ALICE).registered_email == "alice@example.com"
    assert invitation.temporary_password  # the first invitation still stands


def test_an_email_of_another_account_gets_a_notice_and_no_second_account(client, aws):
    # Given Bob registered with bob@example.com
    client.post(URL, json=registration_body(BOB, "bob@example.com"))

    # When Alice's license is registered with Bob's email
    answer = client.post(URL, json=registration_body(ALICE, "BOB@example.com"))

    # Then Bob gets a notice, and Alice's record stays unregistered
    assert (answer.status_code, answer.json()) == (200, PROCESSED)
    mails = read_outbox(aws.outbox_dir)
    assert [(m.to, m.subject) for m in mails] == [
        ("bob@example.com", "Your provider account"),
        ("bob@example.com", "Someone tried to register your provider account"),
    ]
    assert provider(aws, ALICE).registered_email is None
    user = cognito_user(aws, "bob@example.com")
    attributes = {a["Name"]: a["Value"] for a in user["UserAttributes"]}
    assert attributes["custom:providerId"] == BOB["providerId"]


@pytest.fixture
def stale_invitation(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every Cognito user look untouched for 25 hours."""
    from core.adapters.cognito import CognitoIdentity

    original = CognitoIdentity.get_user

    def aged(self, username):  # noqa: ANN001, ANN202
        user = original(self, username)
        if user is None:
            return None
        from dataclasses import replace

        return replace(user, last_modified=datetime.now(UTC) - timedelta(hours=25))

    monkeypatch.setattr(CognitoIdentity, "get_user", aged)


def test_an_invitation_unused_for_a_day_can_be_sent_again_to_a_new_email(
    client, aws, stale_invitation
):
    # Given Alice registered with an address she never used (invitation stale for 25 h)
    client.post(URL, json=registration_body(ALICE, "old@example.com"))

    # When she registers again with another email
    answer = client.post(URL, json=registration_body(ALICE, "new@example.com"))

    # Then the account moves to the new email and the old user is gone
    assert (answer.status_code, answer.json()) == (200, PROCESSED)
    assert provider(aws, ALICE).registered_email == "new@example.com"
    assert cognito_user(aws, "old@example.com") is None
    assert cognito_user(aws, "new@example.com")["UserStatus"] == "FORCE_CHANGE_PASSWORD"
    mails = read_outbox(aws.outbox_dir)
    assert [(m.to, m.subject) for m in mails] == [
        ("old@example.com", "Your provider account"),
        ("new@example.com", "Your provider account"),
    ]
    # And the old email is free again for someone else
    answer = client.post(URL, json=registration_body(BOB, "old@example.com"))
    assert provider(aws, BOB).registered_email == "old@example.com"


def test_a_failed_registration_write_removes_the_cognito_user(client, aws, monkeypatch, caplog):
    # Given DynamoDB refuses the registration transaction once
    from botocore.exceptions import ClientError

    calls = {"n": 0}
    original = DynamoProviderStore.record_registration

    def failing_once(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        calls["n"] += 1
        if calls["n"] == 1:
            from core.adapters.aws_errors import aws_call

            with aws_call("dynamodb", "TransactWriteItems"):
                raise ClientError(
                    {"Error": {"Code": "ThrottlingException", "Message": "slow down"}},
                    "TransactWriteItems",
                )
        return original(self, *args, **kwargs)

    monkeypatch.setattr(DynamoProviderStore, "record_registration", failing_once)

    # When Alice registers
    caplog.set_level(logging.INFO, logger="provider_accounts.outcomes")
    answer = client.post(URL, json=registration_body(ALICE, "alice@example.com"))

    # Then the same answer as always (the work fails after it), the failure is logged as an
    # upstream error, and no half-registered account is left
    assert (answer.status_code, answer.json()) == (200, PROCESSED)
    outcomes = [
        getattr(r, "outcome", None)
        for r in caplog.records
        if r.name == "provider_accounts.outcomes"
    ]
    assert outcomes == ["upstream_error"]
    assert cognito_user(aws, "alice@example.com") is None
    record = provider(aws, ALICE)
    assert (record.registered_email, record.claim_id) == (None, None)

    # And the retry registers her
    answer = client.post(URL, json=registration_body(ALICE, "alice@example.com"))
    assert (answer.status_code, answer.json()) == (200, PROCESSED)
    assert provider(aws, ALICE).registered_email == "alice@example.com"
    assert cognito_user(aws, "alice@example.com") is not None
    assert read_outbox(aws.outbox_dir)[-1].to == "alice@example.com"


def test_failed_recaptcha_is_403_and_changes_nothing(client, aws):
    answer = client.post(URL, json=registration_body(ALICE, "alice@example.com", token="fail"))

    assert answer.status_code == 403
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json() == {
        "type": "about:blank",
        "title": "Forbidden",
        "status": 403,
        "detail": "reCAPTCHA verification failed",
        "message": "reCAPTCHA verification failed",
    }
    assert read_outbox(aws.outbox_dir) == []
    assert cognito_user(aws, "alice@example.com") is None


def test_the_fourth_request_from_one_address_is_429_with_retry_after(client, aws):
    body = registration_body(ALICE, "someone@example.com")
    body["partialSocial"] = "0000"
    statuses = [client.post(URL, json=body).status_code for _ in range(3)]

    answer = client.post(URL, json=registration_body(ALICE, "alice@example.com"))

    assert statuses == [200, 200, 200]
    assert answer.status_code == 429
    assert answer.headers["content-type"] == "application/problem+json"
    assert 1 <= int(answer.headers["retry-after"]) <= 15 * 60 + 1
    assert answer.json()["status"] == 429
    assert provider(aws, ALICE).registered_email is None


def test_malformed_requests_do_not_count_against_the_limit(client, aws):
    bad = registration_body(ALICE, "alice@example.com")
    bad["dob"] = "1979-02-30"
    answers = [client.post(URL, json=bad) for _ in range(5)]

    assert {a.status_code for a in answers} == {400}
    assert client.post(URL, json=registration_body(ALICE, "a@example.com")).status_code == 200
