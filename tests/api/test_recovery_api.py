"""Account recovery through the HTTP API: initiateRecovery and verifyRecovery on moto.

Each test builds the app with its own Dependencies (core.wiring.build_services, with the recovery
side's collaborators swapped for ones a test can observe): a clock the test can move, a Cognito
adapter that counts deletions and creations, and a client on which failures can be injected.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from email.utils import parseaddr
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from core import emails
from core.adapters.aws_clients import AWS_CLIENT_CONFIG
from core.adapters.cognito import CognitoIdentity
from core.adapters.dynamo_table import DynamoTable
from core.adapters.mail import OutboxMailer, SesMailer
from core.adapters.providers import DynamoProviderStore
from core.clock import utc_now
from core.config import Settings
from core.models import IdentityUser, MailMessage, RiskContext
from core.token_hashing import Argon2TokenHasher
from core.wiring import build_services
from handlers.app import create_app
from tests.support.background import draining_client
from tests.support.data import ALICE, BOB, initiate_body, registration_body
from tests.support.leaks import remember
from tests.support.mail import Mail, read_outbox
from tests.support.problems import UNEXPECTED

ALICE_EMAIL = "quillon.vantreska@example.com"
BOB_EMAIL = "zephrine.oduya-marsh@example.com"
ALICE_PASSWORD = remember("Sunny-Meadow-4821!")
BOB_PASSWORD = remember("Quiet-Harbor-7390?")
PROCESSED = {"message": "request processed"}
INVALID_LINK = {
    "type": "about:blank",
    "title": "Bad Request",
    "status": 400,
    "detail": "Invalid or expired recovery link",
    "message": "Invalid or expired recovery link",
}
UNAVAILABLE = {
    "type": "about:blank",
    "title": "Service Unavailable",
    "status": 503,
    "detail": "A dependency is temporarily unavailable; please retry",
    "message": "A dependency is temporarily unavailable; please retry",
}
TOO_MANY = {
    "type": "about:blank",
    "title": "Too Many Requests",
    "status": 429,
    "detail": "Too many requests; try again later",
    "message": "Too many requests; try again later",
}
INTERNAL_DETAIL = "arn:aws:secret-internal-detail table=provider-accounts-providers"


# ---------------------------------------------------------------------------------------------
# Collaborators a test can observe or move
# ---------------------------------------------------------------------------------------------


class MovableClock:
    """Real time plus an offset the test can advance."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return utc_now() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


class CountingIdentity:
    """The real Cognito adapter, counting the calls made through it."""

    def __init__(self, inner: CognitoIdentity) -> None:
        self._inner = inner
        self._lock = threading.Lock()
        self.calls: Counter[str] = Counter()

    def _count(self, name: str) -> None:
        with self._lock:
            self.calls[name] += 1

    def get_user(self, username: str) -> IdentityUser | None:
        self._count("get_user")
        return self._inner.get_user(username)

    def create_user(
        self, username: str, attributes: dict[str, str], temporary_password: str
    ) -> None:
        self._count("create_user")
        self._inner.create_user(username, attributes, temporary_password)

    def set_temporary_password(self, username: str, temporary_password: str) -> None:
        self._count("set_temporary_password")
        self._inner.set_temporary_password(username, temporary_password)

    def delete_user(self, username: str) -> None:
        self._count("delete_user")
        self._inner.delete_user(username)

    def disable_user(self, username: str) -> None:
        self._count("disable_user")
        self._inner.disable_user(username)

    def enable_user(self, username: str) -> None:
        self._count("enable_user")
        self._inner.enable_user(username)

    def password_is_valid(
        self, username: str, password: str, risk: RiskContext | None = None
    ) -> bool:
        self._count("password_is_valid")
        return self._inner.password_is_valid(username, password, risk)


class SesThenOutbox:
    """Sends through the real SES adapter (on moto), then keeps a copy in the outbox to read."""

    def __init__(self, ses: SesMailer, outbox: OutboxMailer) -> None:
        self._ses = ses
        self._outbox = outbox

    def send(self, message: MailMessage) -> None:
        self._ses.send(message)
        self._outbox.send(message)


def fail_once(client: Any, operation: str, error: Exception) -> None:
    """Make the next call of `operation` on this boto3 client raise `error`, once."""
    fired = threading.Event()

    def hook(**_: Any) -> None:
        if not fired.is_set():
            fired.set()
            raise error

    service = client.meta.service_model.service_name
    client.meta.events.register(f"before-call.{service}.{operation}", hook)


def throttling(operation: str) -> ClientError:
    """The ClientError AWS answers when it throttles a call."""
    return ClientError(
        {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, operation
    )


# ---------------------------------------------------------------------------------------------
# The app under test and what a test looks at
# ---------------------------------------------------------------------------------------------


@dataclass
class Api:
    """The test client of one app, and moto as the test sees it."""

    settings: Settings
    client: Any
    cognito: Any
    table: Any
    identity: CountingIdentity
    clock: MovableClock
    clients: dict[str, Any] = field(default_factory=dict)

    def post(self, operation: str, body: dict[str, str]) -> Any:
        return self.client.post(f"/v1/provider-users/{operation}", json=body)

    def outbox(self) -> list[Mail]:
        return read_outbox(self.settings.outbox_dir)

    def provider_item(self, person: dict[str, str]) -> dict[str, Any]:
        compact, provider_id = person["compact"], person["providerId"]
        key = {"pk": f"{compact}#PROVIDER#{provider_id}", "sk": f"{compact}#PROVIDER"}
        return dict(self.table.get_item(Key=key, ConsistentRead=True)["Item"])

    def user_status(self, email: str) -> str | None:
        try:
            user = self.cognito.admin_get_user(
                UserPoolId=self.settings.user_pool_id, Username=email
            )
        except self.cognito.exceptions.UserNotFoundException:
            return None
        return str(user["UserStatus"])

    def users_named(self, email: str) -> list[dict[str, Any]]:
        answer = self.cognito.list_users(
            UserPoolId=self.settings.user_pool_id, Filter=f'email = "{email}"'
        )
        return list(answer["Users"])

    def password_works(self, email: str, password: str) -> bool:
        try:
            self.cognito.admin_initiate_auth(
                UserPoolId=self.settings.user_pool_id,
                ClientId=self.settings.user_pool_client_id,
                AuthFlow="ADMIN_USER_PASSWORD_AUTH",
                AuthParameters={"USERNAME": email, "PASSWORD": password},
            )
        except (
            self.cognito.exceptions.NotAuthorizedException,
            self.cognito.exceptions.UserNotFoundException,
        ):
            return False
        return True

    def sign_in_first_time(self, email: str, temporary_password: str, new_password: str) -> None:
        """Answer NEW_PASSWORD_REQUIRED with a permanent password, as the frontend would."""
        started = self.cognito.admin_initiate_auth(
            UserPoolId=self.settings.user_pool_id,
            ClientId=self.settings.user_pool_client_id,
            AuthFlow="ADMIN_USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": email, "PASSWORD": temporary_password},
        )
        assert started["ChallengeName"] == "NEW_PASSWORD_REQUIRED"
        self.cognito.admin_respond_to_auth_challenge(
            UserPoolId=self.settings.user_pool_id,
            ClientId=self.settings.user_pool_client_id,
            ChallengeName="NEW_PASSWORD_REQUIRED",
            Session=started["Session"],
            ChallengeResponses={"USERNAME": email, "NEW_PASSWORD": new_password},
        )
        assert self.user_status(email) == "CONFIRMED"


@pytest.fixture(scope="module")
def boto_session() -> boto3.session.Session:
    """One session for the clients tests build: it loads each service model only once.

    Every client gets its own copy of the session's event hooks, so failures injected on one
    test's client never reach another's.
    """
    return boto3.session.Session()


@pytest.fixture
def make_api(aws: Settings, boto_session: boto3.session.Session) -> Iterator[Callable[..., Api]]:
    """Builds an app on moto with settings overrides; recovery uses observable collaborators."""
    with ExitStack() as stack:

        def make(**overrides: Any) -> Api:
            settings = aws.model_copy(update=overrides)

            def client(service: str) -> Any:
                return boto_session.client(
                    service, region_name=settings.aws_region, config=AWS_CLIENT_CONFIG
                )

            base = build_services(settings)
            cognito, ses, dynamodb = client("cognito-idp"), client("ses"), client("dynamodb")
            ses.verify_email_identity(EmailAddress=parseaddr(settings.mail_from)[1])
            identity = CountingIdentity(
                CognitoIdentity(cognito, settings.user_pool_id, settings.user_pool_client_id)
            )
            clock = MovableClock()
            recovery = replace(
                base.recovery,
                identity=identity,
                providers=DynamoProviderStore(DynamoTable(dynamodb, settings.provider_table)),
                mailer=SesThenOutbox(
                    SesMailer(ses, settings.mail_from),
                    OutboxMailer(settings.outbox_dir, settings.mail_from),
                ),
                clock=clock,
            )
            app = create_app(settings, replace(base, recovery=recovery))
            return Api(
                settings=settings,
                client=stack.enter_context(draining_client(app)),
                cognito=client("cognito-idp"),
                table=boto_session.resource("dynamodb", region_name=settings.aws_region).Table(
                    settings.provider_table
                ),
                identity=identity,
                clock=clock,
                clients={"cognito-idp": cognito, "dynamodb": dynamodb, "ses": ses},
            )

        yield make


@pytest.fixture
def api(make_api: Callable[..., Api]) -> Api:
    """The app with the suite's settings (per-IP limits on, floors off)."""
    return make_api()


# ---------------------------------------------------------------------------------------------
# Steps
# ---------------------------------------------------------------------------------------------


def verify_body(params: dict[str, str], recaptcha: str = "ok") -> dict[str, str]:
    return {
        "compact": params["compact"],
        "providerId": params["providerId"],
        "recoveryToken": params["recoveryToken"],
        "recaptchaToken": recaptcha,
    }


def register_and_sign_in(api: Api, person: dict[str, str], email: str, password: str) -> None:
    """Given: the provider registered through the API and chose a permanent password."""
    answer = api.post("registration", registration_body(person, email))
    assert answer.status_code == 200
    invitation = api.outbox()[-1]
    assert (invitation.to, invitation.subject) == (email, "Your provider account")
    api.sign_in_first_time(email, invitation.temporary_password, password)


def request_link(api: Api, person: dict[str, str], email: str, password: str) -> dict[str, str]:
    """Given: a recovery link was emailed; returns its parameters."""
    before = len(api.outbox())
    answer = api.post("initiateRecovery", initiate_body(person, email, password))
    assert (answer.status_code, answer.json()) == (200, PROCESSED)
    mails = api.outbox()
    assert len(mails) == before + 1
    assert mails[-1].subject == "Confirm account recovery"
    return mails[-1].recovery_params


@pytest.fixture
def alice(api: Api) -> Api:
    """Alice is registered and signed in with ALICE_PASSWORD."""
    register_and_sign_in(api, ALICE, ALICE_EMAIL, ALICE_PASSWORD)
    return api


def same_headers(answer: Any) -> dict[str, str]:
    """The headers every answer to a request must share: all but its own correlation id."""
    return {k: v for k, v in answer.headers.items() if k.lower() != "x-request-id"}


def assert_problem(answer: Any, status: int, body: dict[str, Any]) -> None:
    assert answer.status_code == status
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json() == body
    if status == 400:  # only the genuine link under a cool-down says when to retry
        assert "retry-after" not in answer.headers


def assert_alice_unchanged(api: Api, token_hash: str | None, mails_before: int) -> None:
    """Alice keeps her user, her password and her pending token; no email went out."""
    item = api.provider_item(ALICE)
    assert item.get("recoveryTokenHash") == token_hash
    assert "claimId" not in item
    assert "recoveredAt" not in item
    assert api.user_status(ALICE_EMAIL) == "CONFIRMED"
    assert api.password_works(ALICE_EMAIL, ALICE_PASSWORD)
    assert len(api.outbox()) == mails_before


def assert_recovered_once(api: Api, mails_before: int) -> Mail:
    """Alice's user was recreated, invited once more, and her token consumed."""
    mails = api.outbox()[mails_before:]
    assert [(m.to, m.subject) for m in mails] == [
        (ALICE_EMAIL, "Your provider account was recovered"),
        (ALICE_EMAIL, "Was it you? Your provider account was recovered"),  # with "Not me"
    ]
    invitation = mails[0]
    expected = emails.invitation(
        ALICE_EMAIL,
        ALICE["givenName"],
        ALICE["familyName"],
        invitation.temporary_password,
        emails.Links(api.settings.ui_base_url),
        after_recovery=True,
    )
    assert (invitation.to, invitation.text, invitation.html.strip()) == (
        expected.to,
        expected.text,
        expected.html,
    )
    assert "Your account was recovered as requested" in invitation.text
    users = api.users_named(ALICE_EMAIL)
    assert [u["UserStatus"] for u in users] == ["FORCE_CHANGE_PASSWORD"]
    attributes = {a["Name"]: a["Value"] for a in users[0]["Attributes"]}
    assert attributes["custom:providerId"] == ALICE["providerId"]
    assert attributes["custom:compact"] == ALICE["compact"]
    assert api.password_works(ALICE_EMAIL, invitation.temporary_password)
    assert not api.password_works(ALICE_EMAIL, ALICE_PASSWORD)
    item = api.provider_item(ALICE)
    assert "recoveredAt" in item
    for gone in (
        "recoveryTokenId",
        "recoveryTokenHash",
        "recoveryExpiresAt",
        "claimId",
        "claimedUntil",
    ):
        assert gone not in item
    return invitation


# ---------------------------------------------------------------------------------------------
# initiateRecovery
# ---------------------------------------------------------------------------------------------


def test_initiate_with_every_proof_emails_a_link_whose_token_verifies(alice: Api) -> None:
    # Given Alice is registered and signed in
    # When she asks to recover with her email (typed in another case), password and license facts
    username = "Quillon.Vantreska@Example.COM"
    answer = alice.post("initiateRecovery", initiate_body(ALICE, username, ALICE_PASSWORD))

    # Then the generic answer, and one confirmation email to her registered address
    assert (answer.status_code, answer.json()) == (200, PROCESSED)
    assert [m.subject for m in alice.outbox()] == [
        "Your provider account",
        "Confirm account recovery",
    ]
    mail = alice.outbox()[-1]
    params = mail.recovery_params
    link = mail.recovery_link
    links = emails.Links(alice.settings.ui_base_url)
    expected = emails.recovery_confirmation(
        ALICE_EMAIL, ALICE["givenName"], link, 15, links, not_me=mail.not_me_link
    )
    assert (mail.to, mail.subject, mail.text, mail.html.strip()) == (
        expected.to,
        expected.subject,
        expected.text,
        expected.html,
    )
    assert link.startswith("https://app.example.test/account-recovery/verify#")
    assert params["compact"] == ALICE["compact"]
    assert params["providerId"] == ALICE["providerId"]
    # And the token is its public id and its secret; only the id and the secret's hash are
    # stored, and the emailed secret verifies against that hash
    item = alice.provider_item(ALICE)
    token_id, dot, secret = params["recoveryToken"].partition(".")
    assert (dot, item["recoveryTokenId"]) == (".", token_id)
    assert Argon2TokenHasher().verify(item["recoveryTokenHash"], secret)
    assert secret not in str(item)
    # And her sign-in is untouched until the link is used
    assert alice.user_status(ALICE_EMAIL) == "CONFIRMED"
    assert alice.password_works(ALICE_EMAIL, ALICE_PASSWORD)


FAILING_INITIATES = {
    "wrong password": initiate_body(ALICE, ALICE_EMAIL, "Wrong-Password-000!"),
    "wrong email": initiate_body(ALICE, "someone.else@example.com", ALICE_PASSWORD),
    "unregistered provider": initiate_body(BOB, BOB_EMAIL, BOB_PASSWORD),
    "no license": {**initiate_body(ALICE, ALICE_EMAIL, ALICE_PASSWORD), "partialSocial": "0000"},
    "recaptcha fails": initiate_body(ALICE, ALICE_EMAIL, ALICE_PASSWORD, recaptcha="fail"),
}


def test_initiate_answers_identically_and_sends_nothing_when_a_proof_fails(
    make_api: Callable[..., Api],
) -> None:
    # Given Alice is registered and signed in (and this address may ask often enough)
    api = make_api(initiate_recovery_ip_limit="20 per 15 minutes")
    register_and_sign_in(api, ALICE, ALICE_EMAIL, ALICE_PASSWORD)
    # And the answer to a request where every proof holds
    reference = api.post("initiateRecovery", initiate_body(ALICE, ALICE_EMAIL, ALICE_PASSWORD))
    mails_before = len(api.outbox())
    token_hash = api.provider_item(ALICE)["recoveryTokenHash"]

    for case, body in FAILING_INITIATES.items():
        # When a proof fails (Alice's own attempts stay within her hourly limit of 3)
        answer = api.post("initiateRecovery", body)

        # Then the answer is byte-identical, headers included
        assert answer.status_code == reference.status_code == 200, case
        assert answer.content == reference.content, case
        assert same_headers(answer) == same_headers(reference), case
        # And no email went out and nothing changed
        assert_alice_unchanged(api, token_hash, mails_before)
    assert api.provider_item(BOB).keys() == {
        "pk",
        "sk",
        "type",
        "providerId",
        "compact",
        "givenName",
        "familyName",
    }


def test_initiate_beyond_the_hourly_limit_answers_the_same_and_sends_nothing(alice: Api) -> None:
    # Given Alice asked three times within the hour (three links were sent)
    answers = [
        alice.post("initiateRecovery", initiate_body(ALICE, ALICE_EMAIL, ALICE_PASSWORD))
        for _ in range(3)
    ]
    assert [m.subject for m in alice.outbox()[1:]] == ["Confirm account recovery"] * 3
    token_hash = alice.provider_item(ALICE)["recoveryTokenHash"]

    # When she asks a fourth time
    fourth = alice.post("initiateRecovery", initiate_body(ALICE, ALICE_EMAIL, ALICE_PASSWORD))

    # Then the same answer, and no fourth email or new token
    assert fourth.status_code == 200
    assert fourth.content == answers[0].content
    assert same_headers(fourth) == same_headers(answers[0])
    assert_alice_unchanged(alice, token_hash, 4)


# ---------------------------------------------------------------------------------------------
# verifyRecovery
# ---------------------------------------------------------------------------------------------


def test_verify_recreates_the_user_and_invites_again(alice: Api) -> None:
    # Given Alice received a recovery link
    params = request_link(alice, ALICE, ALICE_EMAIL, ALICE_PASSWORD)
    mails_before = len(alice.outbox())
    old_sub = alice.users_named(ALICE_EMAIL)[0]["Attributes"]

    # When she uses it
    answer = alice.post("verifyRecovery", verify_body(params))

    # Then the generic answer, a new user awaiting a new password, and a new invitation
    assert (answer.status_code, answer.json()) == (200, PROCESSED)
    assert answer.headers["content-type"] == "application/json"
    assert_recovered_once(alice, mails_before)
    assert alice.users_named(ALICE_EMAIL)[0]["Attributes"] != old_sub
    assert alice.identity.calls["delete_user"] == 1
    assert alice.identity.calls["create_user"] == 1


def test_a_used_link_is_refused_and_changes_nothing(alice: Api) -> None:
    # Given Alice used her link and signed in again with a new permanent password
    params = request_link(alice, ALICE, ALICE_EMAIL, ALICE_PASSWORD)
    assert alice.post("verifyRecovery", verify_body(params)).status_code == 200
    invitation = alice.outbox()[-2]  # the completion notice came last
    new_password = remember("Brave-Otter-5512#")
    alice.sign_in_first_time(ALICE_EMAIL, invitation.temporary_password, new_password)
    item_before = alice.provider_item(ALICE)
    mails_before = len(alice.outbox())

    # When the same link is used again
    answer = alice.post("verifyRecovery", verify_body(params))

    # Then it is refused and nothing changed
    assert_problem(answer, 400, INVALID_LINK)
    assert alice.provider_item(ALICE) == item_before
    assert alice.user_status(ALICE_EMAIL) == "CONFIRMED"
    assert alice.password_works(ALICE_EMAIL, new_password)
    assert len(alice.outbox()) == mails_before
    assert alice.identity.calls["delete_user"] == 1


def test_a_wrong_token_is_refused_and_changes_nothing(alice: Api) -> None:
    # Given Alice has a pending recovery
    params = request_link(alice, ALICE, ALICE_EMAIL, ALICE_PASSWORD)
    token_hash = alice.provider_item(ALICE)["recoveryTokenHash"]
    mails_before = len(alice.outbox())

    # When a different token is presented for her
    answer = alice.post("verifyRecovery", verify_body({**params, "recoveryToken": "x" * 43}))

    # Then it is refused and nothing changed
    assert_problem(answer, 400, INVALID_LINK)
    assert_alice_unchanged(alice, token_hash, mails_before)


def test_a_token_presented_for_another_provider_is_refused(alice: Api) -> None:
    # Given Alice and Bob both have a pending recovery
    params = request_link(alice, ALICE, ALICE_EMAIL, ALICE_PASSWORD)
    register_and_sign_in(alice, BOB, BOB_EMAIL, BOB_PASSWORD)
    request_link(alice, BOB, BOB_EMAIL, BOB_PASSWORD)
    alice_hash = alice.provider_item(ALICE)["recoveryTokenHash"]
    bob_before = alice.provider_item(BOB)
    mails_before = len(alice.outbox())

    # When Alice's token is presented with Bob's id
    answer = alice.post(
        "verifyRecovery",
        verify_body({**params, "compact": BOB["compact"], "providerId": BOB["providerId"]}),
    )

    # Then it is refused and neither account changed
    assert_problem(answer, 400, INVALID_LINK)
    assert alice.provider_item(BOB) == bob_before
    assert alice.password_works(BOB_EMAIL, BOB_PASSWORD)
    assert_alice_unchanged(alice, alice_hash, mails_before)


def test_a_token_for_an_unknown_provider_is_refused(alice: Api) -> None:
    # Given Alice has a pending recovery
    params = request_link(alice, ALICE, ALICE_EMAIL, ALICE_PASSWORD)
    token_hash = alice.provider_item(ALICE)["recoveryTokenHash"]
    mails_before = len(alice.outbox())

    # When her token is presented for a provider id no record has
    unknown = {**params, "providerId": "9e0c7a52-5d1b-4c3e-8f2a-6b4d8c0e2f4a"}
    answer = alice.post("verifyRecovery", verify_body(unknown))

    # Then the same refusal as any other token problem
    assert_problem(answer, 400, INVALID_LINK)
    assert_alice_unchanged(alice, token_hash, mails_before)


def test_an_expired_token_is_refused_and_forgotten(make_api: Callable[..., Api]) -> None:
    # Given links last 60 seconds and Alice received one
    api = make_api(recovery_token_ttl_seconds=60)
    register_and_sign_in(api, ALICE, ALICE_EMAIL, ALICE_PASSWORD)
    params = request_link(api, ALICE, ALICE_EMAIL, ALICE_PASSWORD)
    mails_before = len(api.outbox())

    # When she uses it 61 seconds later
    api.clock.advance(61)
    answer = api.post("verifyRecovery", verify_body(params))

    # Then it is refused, the expired token is dropped, and her account is untouched
    assert_problem(answer, 400, INVALID_LINK)
    assert_alice_unchanged(api, None, mails_before)
    assert "recoveryExpiresAt" not in api.provider_item(ALICE)
    assert api.identity.calls["delete_user"] == 0


def test_a_token_just_before_expiry_still_works(make_api: Callable[..., Api]) -> None:
    # Given links last 60 seconds and Alice received one
    api = make_api(recovery_token_ttl_seconds=60)
    register_and_sign_in(api, ALICE, ALICE_EMAIL, ALICE_PASSWORD)
    params = request_link(api, ALICE, ALICE_EMAIL, ALICE_PASSWORD)
    mails_before = len(api.outbox())

    # When she uses it 55 seconds later
    api.clock.advance(55)
    answer = api.post("verifyRecovery", verify_body(params))

    # Then it works
    assert (answer.status_code, answer.json()) == (200, PROCESSED)
    assert_recovered_once(api, mails_before)


def test_verify_with_a_failed_recaptcha_is_forbidden_and_changes_nothing(alice: Api) -> None:
    # Given Alice has a pending recovery
    params = request_link(alice, ALICE, ALICE_EMAIL, ALICE_PASSWORD)
    token_hash = alice.provider_item(ALICE)["recoveryTokenHash"]
    mails_before = len(alice.outbox())

    # When the link is used but reCAPTCHA fails
    answer = alice.post("verifyRecovery", verify_body(params, recaptcha="fail"))

    # Then 403 and the link still works afterwards
    assert_problem(
        answer,
        403,
        {
            "type": "about:blank",
            "title": "Forbidden",
            "status": 403,
            "detail": "reCAPTCHA verification failed",
            "message": "reCAPTCHA verification failed",
        },
    )
    assert_alice_unchanged(alice, token_hash, mails_before)
    assert alice.post("verifyRecovery", verify_body(params)).status_code == 200


def test_a_link_tried_too_often_is_refused_even_with_the_right_secret(
    make_api: Callable[..., Api],
) -> None:
    # Given links outlive the 15-minute limit window, and Alice has one
    alice = make_api(recovery_token_ttl_seconds=3600)
    register_and_sign_in(alice, ALICE, ALICE_EMAIL, ALICE_PASSWORD)
    params = request_link(alice, ALICE, ALICE_EMAIL, ALICE_PASSWORD)
    token_hash = alice.provider_item(ALICE)["recoveryTokenHash"]
    mails_before = len(alice.outbox())
    token_id, _, secret = params["recoveryToken"].partition(".")
    for _ in range(2):
        wrong = verify_body({**params, "recoveryToken": f"{token_id}.{'y' * len(secret)}"})
        assert alice.post("verifyRecovery", wrong).status_code == 400
    # (two wrong secrets were tried with her link's id: the limit is 2 per 15 minutes)

    # When the right token comes third
    answer = alice.post("verifyRecovery", verify_body(params))

    # Then 429 with the window as Retry-After, and nothing changed
    assert_problem(answer, 429, TOO_MANY)
    assert answer.headers["retry-after"] == "900"
    assert_alice_unchanged(alice, token_hash, mails_before)

    # And after the window the right token works
    alice.clock.advance(901)
    assert alice.post("verifyRecovery", verify_body(params)).status_code == 200


def test_bogus_tokens_for_a_provider_never_make_her_genuine_link_fail(
    make_api: Callable[..., Api],
) -> None:
    # Given Alice has a pending link, and the per-IP limit is out of the way
    alice = make_api(verify_recovery_ip_limit="100 per 15 minutes")
    register_and_sign_in(alice, ALICE, ALICE_EMAIL, ALICE_PASSWORD)
    params = request_link(alice, ALICE, ALICE_EMAIL, ALICE_PASSWORD)
    item = alice.provider_item(ALICE)
    token_id = params["recoveryToken"].partition(".")[0]
    assert item["recoveryTokenId"] == token_id
    mails_before = len(alice.outbox())

    # When someone who knows her providerId sends 22 tokens naming no pending link
    statuses = [
        alice.post(
            "verifyRecovery",
            verify_body({**params, "recoveryToken": f"{'b' * 21}{n:x}.{'s' * 43}"}),
        ).status_code
        for n in range(22)
    ]

    # Then each is refused, past the bound of 20 with 429, and nothing of hers changed
    assert statuses == [400] * 20 + [429] * 2
    assert_alice_unchanged(alice, item["recoveryTokenHash"], mails_before)

    # And her genuine link still recovers the account at once
    answer = alice.post("verifyRecovery", verify_body(params))
    assert (answer.status_code, answer.json()) == (200, PROCESSED)
    assert_recovered_once(alice, mails_before)


@pytest.mark.parametrize(
    ("operation", "setting", "body"),
    [
        (
            "initiateRecovery",
            "initiate_recovery_ip_limit",
            initiate_body(ALICE, ALICE_EMAIL, "Wrong-Password-000!"),
        ),
        (
            "verifyRecovery",
            "verify_recovery_ip_limit",
            {
                "compact": "aslp",
                "providerId": "9e0c7a52-5d1b-4c3e-8f2a-6b4d8c0e2f4a",
                "recoveryToken": "z" * 43,
                "recaptchaToken": "ok",
            },
        ),
    ],
)
def test_per_ip_limits_answer_429_with_retry_after(
    make_api: Callable[..., Api], operation: str, setting: str, body: dict[str, str]
) -> None:
    # Given an address may call the operation twice per 15 minutes
    api = make_api(**{setting: "2 per 15 minutes"})
    first = [api.post(operation, body).status_code for _ in range(2)]
    assert all(status in (200, 400) for status in first)

    # When it calls a third time
    answer = api.post(operation, body)

    # Then 429 problem+json with a Retry-After within the window
    assert_problem(answer, 429, TOO_MANY)
    # The first call was just now, so the wait is about the whole window (flask-limiter
    # rounds the reset time up by a second).
    assert 899 <= int(answer.headers["retry-after"]) <= 901


# ---------------------------------------------------------------------------------------------
# Concurrency and failures after the claim
# ---------------------------------------------------------------------------------------------


def test_one_link_fired_by_twenty_threads_recovers_exactly_once(
    make_api: Callable[..., Api],
) -> None:
    # Given limits high enough that only the token's single use can stop a request
    api = make_api(recovery_verify_limit=100, verify_recovery_ip_limit="100 per 15 minutes")
    register_and_sign_in(api, ALICE, ALICE_EMAIL, ALICE_PASSWORD)
    params = request_link(api, ALICE, ALICE_EMAIL, ALICE_PASSWORD)
    mails_before = len(api.outbox())
    start = threading.Barrier(20)

    def fire(_: int) -> int:
        start.wait()
        return int(api.post("verifyRecovery", verify_body(params)).status_code)

    # When twenty requests use the same link at once
    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(fire, range(20)))

    # Then exactly one succeeds, the user is recreated once, and one invitation goes out
    assert sorted(statuses) == [200] + [400] * 19
    assert api.identity.calls["delete_user"] == 1
    assert api.identity.calls["create_user"] == 1
    assert_recovered_once(api, mails_before)


STEPS_AFTER_THE_CLAIM = {
    "cognito delete": ("cognito-idp", "AdminDeleteUser"),
    "cognito create": ("cognito-idp", "AdminCreateUser"),
    "mail send": ("ses", "SendEmail"),
    "dynamodb complete_recovery": ("dynamodb", "TransactWriteItems"),
}
FAILURES = {
    "throttled": (throttling, 503, UNAVAILABLE),
    "generic": (lambda _operation: RuntimeError(INTERNAL_DETAIL), 500, UNEXPECTED),
}


@pytest.mark.parametrize("failure", FAILURES.values(), ids=FAILURES.keys())
@pytest.mark.parametrize("step", STEPS_AFTER_THE_CLAIM.values(), ids=STEPS_AFTER_THE_CLAIM.keys())
def test_a_failure_after_the_claim_can_be_retried_with_the_same_link(
    alice: Api,
    step: tuple[str, str],
    failure: tuple[Callable[[str], Exception], int, dict[str, Any]],
) -> None:
    # Given Alice has a pending recovery, and the next call of one step will fail
    params = request_link(alice, ALICE, ALICE_EMAIL, ALICE_PASSWORD)
    token_hash = alice.provider_item(ALICE)["recoveryTokenHash"]
    mails_before = len(alice.outbox())
    service, operation = step
    make_error, status, problem = failure
    fail_once(alice.clients[service], operation, make_error(operation))

    # When she uses the link
    answer = alice.post("verifyRecovery", verify_body(params))

    # Then a problem that says nothing about internals (503 says when to retry)
    assert_problem(answer, status, problem)
    assert INTERNAL_DETAIL not in answer.text
    assert "Traceback" not in answer.text
    if status == 503:
        assert answer.headers["retry-after"] == "5"
    # And the claim was released and the token is still pending
    item = alice.provider_item(ALICE)
    assert item["recoveryTokenHash"] == token_hash
    assert "claimId" not in item
    assert "recoveredAt" not in item

    # When she retries the same link
    retry = alice.post("verifyRecovery", verify_body(params))

    # Then it works: one user, whose only working password is the latest invitation's
    assert (retry.status_code, retry.json()) == (200, PROCESSED)
    invitations = [m for m in alice.outbox()[mails_before:] if not m.subject.startswith("Was it")]
    if step == ("dynamodb", "TransactWriteItems"):
        # The first invitation went out before the failure; its password died with its user.
        assert len(invitations) == 2
        assert not alice.password_works(ALICE_EMAIL, invitations[0].temporary_password)
    else:
        assert len(invitations) == 1
    assert_recovered_once(alice, mails_before + len(invitations) - 1)
