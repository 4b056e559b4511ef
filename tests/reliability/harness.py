"""The app on moto with a movable clock, SES mail and fault injection, driven like a provider.

Mail goes through the SES adapter (so sending is an AWS call that can fail) and is read back
from moto's SES backend, which keeps only the HTML part of each message.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
from boto3.dynamodb.conditions import Attr
from connexion import FlaskApp
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from core.clock import utc_now
from core.config import Settings
from core.errors import UpstreamUnavailable
from core.wiring import build_services
from handlers.app import create_app
from handlers.errors import TITLES, UPSTREAM_RETRY_AFTER_SECONDS
from tests.reliability.faults import FaultInjector
from tests.support.background import attach_drain
from tests.support.data import ALICE, initiate_body, registration_body
from tests.support.leaks import remember

SENDER = "no-reply@provider-accounts.local"
PROCESSED = {"message": "request processed"}
UNAVAILABLE = {
    "type": "about:blank",
    "title": TITLES[503],
    "status": 503,
    "detail": UpstreamUnavailable.default_message,
    "message": UpstreamUnavailable.default_message,
}
_TAGS = re.compile(r"<[^>]+>")
_TEMP_PASSWORD = re.compile(r"Temporary password: (\S+)")
_VERIFY_LINK = re.compile(r"(https?://\S+/account-recovery/verify#[^\s\"<]+)")


def reliability_settings(settings: Settings) -> Settings:
    """The suite's settings with SES mail and no per-IP limits (one client sends everything)."""
    return settings.model_copy(update={"mail_backend": "ses", "ip_rate_limits": "off"})


class MovableClock:
    """Real time plus an offset: moto stamps Cognito users with real time."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return utc_now() + self.offset

    def advance(self, **delta: float) -> None:
        """Move the service's time forward."""
        self.offset += timedelta(**delta)


@dataclass(frozen=True)
class Sent:
    """One message moto's SES accepted, as text."""

    to: str
    subject: str
    text: str

    @property
    def temporary_password(self) -> str:
        """The invitation's temporary password."""
        match = _TEMP_PASSWORD.search(self.text)
        assert match, f"no temporary password in {self.subject!r}"
        return remember(match.group(1))

    @property
    def recovery_params(self) -> dict[str, str]:
        """compact, providerId and recoveryToken of the recovery link."""
        match = _VERIFY_LINK.search(self.text)
        assert match, f"no recovery link in {self.subject!r}"
        params = {k: v[0] for k, v in parse_qs(urlsplit(match.group(1)).fragment).items()}
        remember(params["recoveryToken"])
        return params


@dataclass(frozen=True)
class State:
    """What is stored about one provider: DynamoDB record and the Cognito users tied to it."""

    registered_email: str | None
    users: dict[str, str]
    token_pending: bool
    claimed_until: datetime | None
    # The latest hold of this provider's invitation slots in the mail caps, None if none held.
    invitation_held_until: datetime | None = None

    def claim_held(self, now: datetime) -> bool:
        """Whether a claim is still in force at `now`."""
        return self.claimed_until is not None and self.claimed_until >= now

    def invitation_slot_left(self, now: datetime, lease: timedelta) -> bool:
        """Whether an invitation slot is held at `now` by its lease (its mail never went out)."""
        until = self.invitation_held_until
        return until is not None and now < until <= now + lease

    def invitation_slot_spent(self, now: datetime, lease: timedelta) -> bool:
        """Whether an invitation slot is held for its window (its mail went out)."""
        until = self.invitation_held_until
        return until is not None and until > now + lease

    def describe(self, now: datetime, lease: timedelta) -> str:
        """One line for the reliability matrix."""
        email = self.registered_email
        parts = [f"registered ({email})" if email else "unregistered"]
        if self.users:
            parts.append(", ".join(f"user {name} {status}" for name, status in self.users.items()))
        else:
            parts.append("no user")
        if self.token_pending:
            parts.append("link pending")
        if self.claim_held(now):
            parts.append("claim left (lapses at the end of its lease)")
        if self.invitation_slot_left(now, lease):
            parts.append("invitation slot left (lapses at the end of its lease)")
        return "; ".join(parts)


class World:
    """The app, its clock and fault injector, and test-side clients to inspect moto."""

    def __init__(self, settings: Settings, person: dict[str, str] = ALICE) -> None:
        self.settings = settings
        self.person = person
        session = boto3.session.Session(region_name=settings.aws_region)
        session.client("ses").verify_email_identity(EmailAddress=SENDER)
        self.idp = session.client("cognito-idp")
        self.table = session.resource("dynamodb").Table(settings.provider_table)
        self.rate_limits = session.resource("dynamodb").Table(settings.rate_limit_table)
        self.clock = MovableClock()
        # After the test's own clients, before any of the app's: only the app's can fail.
        self.faults = FaultInjector()
        self.faults.install()
        # A session of its own, created after install(), so that only the app's clients fail.
        self.services = build_services(settings, session=boto3.session.Session(), clock=self.clock)
        self.app: FlaskApp = create_app(settings, self.services)
        self._client = attach_drain(self.app.test_client(), self.app)

    def close(self) -> None:
        """Close the test client and stop hooking new AWS clients."""
        self.faults.uninstall()
        self._client.close()

    # ----- requests -----------------------------------------------------------------------

    def register(self, email: str) -> Any:
        """POST registration for the person."""
        return self._client.post(
            "/v1/provider-users/registration", json=registration_body(self.person, email)
        )

    def initiate(self, email: str, password: str) -> Any:
        """POST initiateRecovery for the person."""
        return self._client.post(
            "/v1/provider-users/initiateRecovery", json=initiate_body(self.person, email, password)
        )

    def verify(self, params: dict[str, str]) -> Any:
        """POST verifyRecovery with a recovery link's parameters."""
        return self._client.post(
            "/v1/provider-users/verifyRecovery", json={**params, "recaptchaToken": "ok"}
        )

    # ----- what moto holds ------------------------------------------------------------------

    def sent(self) -> list[Sent]:
        """Every message SES accepted, oldest first."""
        backend = ses_backends[DEFAULT_ACCOUNT_ID][self.settings.aws_region]
        return [
            Sent(
                to=message.destinations["ToAddresses"][0],
                subject=message.subject,
                text=html.unescape(_TAGS.sub("\n", message.body)),
            )
            for message in backend.sent_messages
        ]

    def last_mail(self, to: str, subject_part: str) -> Sent:
        """The newest message to `to` whose subject contains `subject_part`."""
        matching = [m for m in self.sent() if m.to == to and subject_part in m.subject]
        assert matching, f"no {subject_part!r} mail to {to}: {[m.subject for m in self.sent()]}"
        return matching[-1]

    def last_invitation(self, to: str) -> Sent:
        """The newest message to `to` with a temporary password (not the notices beside it)."""
        matching = [m for m in self.sent() if m.to == to and "Temporary password:" in m.text]
        assert matching, f"no invitation to {to}: {[m.subject for m in self.sent()]}"
        return matching[-1]

    def state(self) -> State:
        """The provider record and the users tied to it."""
        compact, provider_id = self.person["compact"], self.person["providerId"]
        item = self.table.get_item(
            Key={"pk": f"{compact}#PROVIDER#{provider_id}", "sk": f"{compact}#PROVIDER"},
            ConsistentRead=True,
        )["Item"]
        users = {}
        for user in self.idp.list_users(UserPoolId=self.settings.user_pool_id)["Users"]:
            attributes = {a["Name"]: a["Value"] for a in user.get("Attributes", [])}
            if attributes.get("custom:providerId") == provider_id:
                users[user["Username"]] = user["UserStatus"]
        until = item.get("claimedUntil")
        return State(
            registered_email=item.get("registeredEmail"),
            users=dict(sorted(users.items())),
            token_pending="recoveryTokenHash" in item,
            claimed_until=_parse(until) if until else None,
            invitation_held_until=self._invitation_held_until(compact, provider_id),
        )

    def _invitation_held_until(self, compact: str, provider_id: str) -> datetime | None:
        prefix = f"mail#invitation#{compact}#{provider_id}#"
        items = self.rate_limits.scan(FilterExpression=Attr("pk").begins_with(prefix))["Items"]
        holds = [_parse(str(item["heldUntil"])) for item in items if "heldBy" in item]
        return max(holds, default=None)

    def password_works(self, username: str, password: str) -> str | None:
        """The first leg of sign-in: the challenge name (or 'tokens'), None if refused."""
        try:
            answer = self.idp.admin_initiate_auth(
                UserPoolId=self.settings.user_pool_id,
                ClientId=self.settings.user_pool_client_id,
                AuthFlow="ADMIN_USER_PASSWORD_AUTH",
                AuthParameters={"USERNAME": username, "PASSWORD": password},
            )
        except self.idp.exceptions.NotAuthorizedException:
            return None
        return answer.get("ChallengeName") or "tokens"

    def set_password(self, username: str, password: str) -> None:
        """What the provider does at first sign-in: a permanent password of their own."""
        self.idp.admin_set_user_password(
            UserPoolId=self.settings.user_pool_id,
            Username=username,
            Password=remember(password),
            Permanent=True,
        )


def _parse(stored: str) -> datetime:
    return datetime.fromisoformat(stored.replace("Z", "+00:00"))


def describe_answer(answer: Any) -> str:
    """'200 generic', '503 problem, Retry-After 5', ... after checking the body is one of ours."""
    body = answer.json()
    if answer.status_code == 200:
        assert body == PROCESSED, body
        return "200 generic"
    if answer.status_code == 503:
        assert body == UNAVAILABLE, body
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.headers["retry-after"] == str(UPSTREAM_RETRY_AFTER_SECONDS)
        return f"503 problem, Retry-After {UPSTREAM_RETRY_AFTER_SECONDS}"
    assert answer.headers["content-type"] == "application/problem+json", answer.text
    assert set(body) == {"type", "title", "status", "detail", "message"}, body
    assert body["message"] == body["detail"], body
    return f"{answer.status_code} problem ({body['detail']})"
