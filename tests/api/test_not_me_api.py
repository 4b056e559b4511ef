""" "Not me" through the HTTP API on moto: cancel, lock, the race with a verify, /me afterwards.

Registration, initiateRecovery and cancelRecovery answer before their work runs; each test waits
for that work with the executor's wait_idle, never with sleeps.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from moto.dynamodb.responses import DynamoHandler

from core.adapters.jwks import JwksCache
from core.adapters.key_layout import from_stored, provider_pk, provider_sk
from core.clock import utc_now
from core.config import Settings
from core.id_tokens import IdTokenVerifier
from core.wiring import Dependencies, build_services
from handlers.app import create_app
from tests.support.data import ALICE, initiate_body, registration_body
from tests.support.leaks import remember
from tests.support.mail import Mail, read_outbox
from tests.support.tokens import SigningKey, TokenMinter, jwks

ALICE_EMAIL = "quillon.vantreska@example.com"
ALICE_PASSWORD = remember("Copper-Kettle-8812!")
PROCESSED = {"message": "request processed"}
INVALID_LINK = {
    "type": "about:blank",
    "title": "Bad Request",
    "status": 400,
    "detail": "Invalid or expired recovery link",
    "message": "Invalid or expired recovery link",
}
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
KEY = {"pk": provider_pk("aslp", ALICE["providerId"]), "sk": provider_sk("aslp")}


class MovableClock:
    """A clock that stands still until the test moves it: boundaries hold under any load."""

    def __init__(self) -> None:
        self.now = utc_now()

    def __call__(self) -> datetime:
        return self.now

    def move_to(self, moment: datetime) -> None:
        self.now = moment


class StaticJwks:
    """The pool's JWKS endpoint, answering with the test's key."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document

    def get(self, _url: str, timeout: float) -> Any:  # noqa: ARG002 - requests' signature
        document = self.document

        class Answer:
            status_code = 200

            def raise_for_status(self) -> None:
                return None

            def json(self) -> dict[str, Any]:
                return document

        return Answer()


@dataclass
class Api:
    """The app, its services (to wait for background work) and moto as the test sees it."""

    settings: Settings
    client: Any
    services: Dependencies
    clock: MovableClock
    cognito: Any
    table: Any
    minter: TokenMinter

    def post(self, operation: str, body: dict[str, str]) -> Any:
        """POST as Firefox on Linux, then wait for any work the answer handed off."""
        answer = self.client.post(
            f"/v1/provider-users/{operation}", json=body, headers={"User-Agent": FIREFOX}
        )
        assert self.services.background.wait_idle(timeout=30)
        return answer

    def outbox(self) -> list[Mail]:
        return read_outbox(self.settings.outbox_dir)

    def record(self) -> dict[str, Any]:
        return dict(self.table.get_item(Key=KEY, ConsistentRead=True)["Item"])

    def user(self) -> dict[str, Any] | None:
        try:
            user = self.cognito.admin_get_user(
                UserPoolId=self.settings.user_pool_id, Username=ALICE_EMAIL
            )
        except self.cognito.exceptions.UserNotFoundException:
            return None
        user.pop("ResponseMetadata")
        return dict(user)

    def me(self, auth_time: int) -> Any:
        token = self.minter.id_token(
            email=ALICE_EMAIL,
            compact="aslp",
            provider_id=ALICE["providerId"],
            auth_time=auth_time,
        )
        return self.client.get(
            "/v1/provider-users/me", headers={"Authorization": f"Bearer {token}"}
        )


def link_params(mail: Mail, page: str) -> dict[str, str]:
    """The fragment parameters of the mail's link to /account-recovery/<page>."""
    (link,) = [w for w in mail.text.split() if f"/account-recovery/{page}#" in w]
    params = {k: v[0] for k, v in parse_qs(urlsplit(link).fragment).items()}
    for name in ("recoveryToken", "cancelToken"):
        if name in params:
            remember(params[name])
    return params


def cancel_body(params: dict[str, str]) -> dict[str, str]:
    return {**params, "recaptchaToken": "ok"}


@pytest.fixture(scope="module")
def pool_key() -> SigningKey:
    return SigningKey("pool-key-not-me")


@pytest.fixture
def make_api(aws: Settings, pool_key: SigningKey) -> Iterator[Callable[..., Api]]:
    """Builds the app on moto with settings overrides; Alice registered and signed in."""
    clients: list[Any] = []

    def make(**overrides: Any) -> Api:
        settings = aws.model_copy(update=overrides)
        keys = JwksCache(settings.jwks, 3600, 30, session=StaticJwks(jwks(pool_key)))
        verifier = IdTokenVerifier(keys, settings.issuer, settings.user_pool_client_id or "", 30)
        clock = MovableClock()
        services = build_services(settings, verifier=verifier, clock=clock)
        client = create_app(settings, services).test_client()
        clients.append(client.__enter__())
        session = boto3.session.Session(region_name=settings.aws_region)
        api = Api(
            settings=settings,
            client=client,
            services=services,
            clock=clock,
            cognito=session.client("cognito-idp"),
            table=session.resource("dynamodb").Table(settings.provider_table),
            minter=TokenMinter(
                pool_key, issuer=settings.issuer, audience=settings.user_pool_client_id or ""
            ),
        )
        answer = api.post("registration", registration_body(ALICE, ALICE_EMAIL))
        assert (answer.status_code, answer.json()) == (200, PROCESSED)
        api.cognito.admin_set_user_password(
            UserPoolId=settings.user_pool_id,
            Username=ALICE_EMAIL,
            Password=ALICE_PASSWORD,
            Permanent=True,
        )
        clock.move_to(utc_now())  # recovery's time starts after the registration
        return api

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def api(make_api: Callable[..., Api]) -> Api:
    return make_api()


def initiate(api: Api) -> Mail:
    """Someone with Alice's password and facts asks for a recovery; returns the email."""
    answer = api.post("initiateRecovery", initiate_body(ALICE, ALICE_EMAIL, ALICE_PASSWORD))
    assert (answer.status_code, answer.json()) == (200, PROCESSED)
    mail = api.outbox()[-1]
    assert (mail.to, mail.subject) == (ALICE_EMAIL, "Confirm account recovery")
    return mail


def test_not_me_before_completion_cancels_and_refuses_the_link(api: Api) -> None:
    # Given a pending recovery Alice did not ask for
    mail = initiate(api)
    verify = {**link_params(mail, "verify"), "recaptchaToken": "ok"}
    not_me = link_params(mail, "not-me")
    assert set(not_me) == {"compact", "providerId", "cancelToken"}
    # When she presses "Not me"
    answer = api.post("cancelRecovery", cancel_body(not_me))
    # Then the answer is the generic one, and a notice says the recovery was cancelled
    assert (answer.status_code, answer.json()) == (200, PROCESSED)
    notice = api.outbox()[-1]
    assert (notice.to, notice.subject) == (ALICE_EMAIL, "Account recovery cancelled")
    assert "Whoever asked for the recovery knew your password." in notice.text
    # And the record holds no pending recovery, and is not locked
    record = api.record()
    assert not {"recoveryTokenHash", "recoveryTokenId", "lockedAt"} & set(record)
    # And the link is refused; the user is untouched
    before = api.user()
    assert (api.post("verifyRecovery", verify).json()) == INVALID_LINK
    assert api.user() == before
    # And the same "Not me" link used again answers the same and sends nothing more
    sent = len(api.outbox())
    answer = api.post("cancelRecovery", cancel_body(not_me))
    assert (answer.status_code, answer.json(), len(api.outbox())) == (200, PROCESSED, sent)


def test_not_me_after_completion_locks_the_account(api: Api) -> None:
    # Given the recovery was completed from Firefox on Linux
    mail = initiate(api)
    answer = api.post("verifyRecovery", {**link_params(mail, "verify"), "recaptchaToken": "ok"})
    assert answer.status_code == 200
    invitation, notice = api.outbox()[-2:]
    assert invitation.subject == "Your provider account was recovered"
    assert (notice.to, notice.subject) == (
        ALICE_EMAIL,
        "Was it you? Your provider account was recovered",
    )
    assert "From the address: testclient\nBrowser: Firefox on Linux" in notice.text
    recovered_at = api.record()["recoveredAt"]
    # And the recovered user signed in: that session reads /me
    signed_in = int(api.user()["UserCreateDate"].timestamp()) + 1  # type: ignore[index]
    assert api.me(signed_in).status_code == 200
    # When Alice presses the notice's "Not me" a minute later
    api.clock.move_to(api.clock() + timedelta(minutes=1))
    answer = api.post("cancelRecovery", cancel_body(link_params(notice, "not-me")))
    assert (answer.status_code, answer.json()) == (200, PROCESSED)
    # Then the account is locked, sessions cut, the recreated user disabled
    record = api.record()
    assert record["lockedAt"] == record["sessionsNotBefore"] > recovered_at
    assert api.user()["Enabled"] is False  # type: ignore[index]
    assert api.outbox()[-1].subject == "Your provider account is locked"
    # And that session is refused
    assert api.me(signed_in).json() == {
        "type": "about:blank",
        "title": "Unauthorized",
        "status": 401,
        "detail": "The account is locked",
        "message": "The account is locked",
    }
    # And a new initiate, with every proof, is silently ignored
    sent = len(api.outbox())
    answer = api.post("initiateRecovery", initiate_body(ALICE, ALICE_EMAIL, ALICE_PASSWORD))
    assert (answer.status_code, answer.json(), len(api.outbox())) == (200, PROCESSED, sent)


@pytest.mark.parametrize(
    "token",
    [
        pytest.param("A" * 22 + "." + "B" * 43, id="unknown id"),
        pytest.param("not-a-token", id="malformed"),
    ],
)
def test_a_wrong_cancel_token_answers_the_same_and_changes_nothing(api: Api, token: str) -> None:
    mail = initiate(api)
    before, sent = api.record(), len(api.outbox())
    answer = api.post(
        "cancelRecovery",
        {**link_params(mail, "not-me"), "cancelToken": token, "recaptchaToken": "ok"},
    )
    assert (answer.status_code, answer.json()) == (200, PROCESSED)
    assert (api.record(), len(api.outbox())) == (before, sent)


def test_events_in_me_carry_their_origin(api: Api) -> None:
    mail = initiate(api)
    api.clock.move_to(api.clock() + timedelta(seconds=1))
    api.post("cancelRecovery", cancel_body(link_params(mail, "not-me")))
    events = api.me(int(api.user()["UserCreateDate"].timestamp()) + 1).json()["events"]  # type: ignore[index]
    assert [(e["type"], e.get("ipAddress"), e.get("browser")) for e in events] == [
        ("recovery_cancelled", "testclient", "Firefox on Linux"),
        ("recovery_requested", "testclient", "Firefox on Linux"),
        ("registered", "testclient", "Firefox on Linux"),
    ]


def race_once(api: Api) -> str:
    """Send "Not me" and the verify of a fresh recovery at the same moment; which one won."""
    mail = initiate(api)
    verify = {**link_params(mail, "verify"), "recaptchaToken": "ok"}
    not_me = cancel_body(link_params(mail, "not-me"))
    start = threading.Barrier(2)
    answers: dict[str, Any] = {}

    def send(name: str, operation: str, body: dict[str, str]) -> None:
        start.wait()
        answers[name] = api.client.post(f"/v1/provider-users/{operation}", json=body)

    threads = [
        threading.Thread(target=send, args=("verify", "verifyRecovery", verify)),
        threading.Thread(target=send, args=("cancel", "cancelRecovery", not_me)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert api.services.background.wait_idle(timeout=30)
    record, user = api.record(), api.user()
    # Either the recovery completed and the account ended locked with its user disabled, or
    # it was cancelled and the link refused; never recovered and open
    assert answers["cancel"].json() == PROCESSED
    if "lockedAt" in record:
        assert user is None or user["Enabled"] is False
        return "locked"
    assert answers["verify"].json() == INVALID_LINK
    assert "recoveryTokenHash" not in record
    assert user is not None
    assert (user["Enabled"], user["UserStatus"]) == (True, "CONFIRMED")  # never recreated
    return "cancelled"


@pytest.fixture
def atomic_moto_dynamodb(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make moto handle one DynamoDB call at a time, as DynamoDB applies each write atomically.

    moto is not thread-safe: a failed transaction restores a copy of the table taken when it
    began, erasing any write another thread made meanwhile (seen here: a lock vanished).
    """
    handle = DynamoHandler.call_action
    one_at_a_time = threading.Lock()

    def call_action(self: DynamoHandler) -> Any:
        with one_at_a_time:
            return handle(self)

    monkeypatch.setattr(DynamoHandler, "call_action", call_action)


@pytest.mark.usefixtures("atomic_moto_dynamodb")
def test_not_me_racing_a_verify_never_leaves_a_recovered_open_account(
    make_api: Callable[..., Api],
) -> None:
    # Given limits that let the race run several rounds
    api = make_api(ip_rate_limits="off", recovery_initiate_limit=100)
    outcomes = []
    for _ in range(10):
        # Given Alice's account open again, her password known to whoever initiates
        api.table.update_item(Key=KEY, UpdateExpression="REMOVE lockedAt")
        api.cognito.admin_enable_user(UserPoolId=api.settings.user_pool_id, Username=ALICE_EMAIL)
        api.cognito.admin_set_user_password(
            UserPoolId=api.settings.user_pool_id,
            Username=ALICE_EMAIL,
            Password=ALICE_PASSWORD,
            Permanent=True,
        )
        # When "Not me" and the verify are sent at the same moment, then one of them won
        outcomes.append(race_once(api))
    print("race outcomes:", outcomes)  # both kinds show up on this machine; either is correct


def signed_in_at(api: Api) -> int:
    """An auth_time of a session of Alice's current user."""
    user = api.user()
    assert user is not None
    return int(user["UserCreateDate"].timestamp()) + 1


def test_a_cooldown_delays_the_link_and_me_shows_the_pending_recovery(
    make_api: Callable[..., Api],
) -> None:
    # Given a one-hour cool-down
    api = make_api(recovery_cooldown_seconds=3600)
    # When a recovery is initiated
    mail = initiate(api)
    # Then /me shows it: usable in an hour, for the token's 15 minutes from then
    pending = api.me(signed_in_at(api)).json()["pendingRecovery"]
    requested, usable = from_stored(pending["requestedAt"]), from_stored(pending["usableFrom"])
    assert usable - requested == timedelta(hours=1)
    assert from_stored(pending["expiresAt"]) - usable == timedelta(minutes=15)
    # And the email says from when the link works
    usable_text = f"{usable:%Y-%m-%d %H:%M:%S} UTC"
    assert (
        f"For your safety the link works only from {usable_text}, then for 15 minutes, and once."
        in mail.text
    )
    verify = {**link_params(mail, "verify"), "recaptchaToken": "ok"}
    # When the link is used 90 seconds before then, it is refused with that time and the wait
    api.clock.move_to(usable - timedelta(seconds=90))
    answer = api.post("verifyRecovery", verify)
    assert answer.headers["retry-after"] == "90"
    assert (answer.status_code, answer.json()) == (
        400,
        {
            "type": "about:blank",
            "title": "Bad Request",
            "status": 400,
            "detail": f"This recovery link works from {usable_text}",
            "message": f"This recovery link works from {usable_text}",
        },
    )
    assert "recoveredAt" not in api.record()
    # When it is used a second after, it works
    api.clock.move_to(usable + timedelta(seconds=1))
    answer = api.post("verifyRecovery", verify)
    assert (answer.status_code, answer.json()) == (200, PROCESSED)
    assert "recoveredAt" in api.record()


def test_the_owner_cancels_the_pending_recovery_from_me(make_api: Callable[..., Api]) -> None:
    # Given a pending recovery under a cool-down
    api = make_api(recovery_cooldown_seconds=86400)
    mail = initiate(api)
    pending = api.me(signed_in_at(api)).json()["pendingRecovery"]
    requested = int(datetime.fromisoformat(pending["requestedAt"]).timestamp())

    def bearer_since(auth_time: int) -> dict[str, str]:
        token = api.minter.id_token(
            email=ALICE_EMAIL, compact="aslp", provider_id=ALICE["providerId"], auth_time=auth_time
        )
        return {"Authorization": f"Bearer {token}", "User-Agent": FIREFOX}

    # When a session that began before it was asked for (a lost device) deletes it
    answer = api.client.delete(
        "/v1/provider-users/me/pendingRecovery", headers=bearer_since(requested - 1)
    )
    # Then it is refused with a 403 saying to sign in again, and the recovery stands
    detail = "Sign in again to cancel this recovery: your session began before it was requested"
    assert (answer.status_code, answer.json()) == (
        403,
        {"type": "about:blank", "title": "Forbidden", "status": 403, "detail": detail,
         "message": detail},
    )  # fmt: skip
    assert "pendingRecovery" in api.me(requested).json()
    # When Alice, signed in again since, deletes it a second later
    session = requested + 1  # a whole second after it: auth_time has no fraction
    bearer = bearer_since(session)
    api.clock.move_to(api.clock() + timedelta(seconds=1))
    answer = api.client.delete("/v1/provider-users/me/pendingRecovery", headers=bearer)
    # Then it is gone, logged, and a notice says so
    assert (answer.status_code, answer.content) == (204, b"")
    assert "content-type" not in answer.headers  # nothing to describe: not a problem+json
    profile = api.me(session).json()
    assert "pendingRecovery" not in profile
    assert profile["events"][0] == {
        "type": "recovery_cancelled",
        "occurredAt": profile["events"][0]["occurredAt"],
        "ipAddress": "testclient",
        "browser": "Firefox on Linux",
    }
    assert api.outbox()[-1].subject == "Account recovery cancelled"
    # And the link is refused even once the cool-down is over
    api.clock.move_to(utc_now() + timedelta(days=1, seconds=1))
    verify = {**link_params(mail, "verify"), "recaptchaToken": "ok"}
    assert api.post("verifyRecovery", verify).json() == INVALID_LINK
    # And a second DELETE finds nothing pending
    answer = api.client.delete("/v1/provider-users/me/pendingRecovery", headers=bearer)
    assert (answer.status_code, answer.json()["detail"]) == (404, "No recovery is pending")
    # And without a token there is nothing to delete
    answer = api.client.delete("/v1/provider-users/me/pendingRecovery")
    assert answer.status_code == 401
