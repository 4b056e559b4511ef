"""CompactConnect's practitioner pages against this API: their requests replayed byte for byte.

That frontend's HTTP client sends `Cache-Control: no-cache` and an `Authorization` header (as
`null null` on public calls) with every request, so a browser preflights each one; its bodies
below keep the order and the members its pages send.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest

from core import emails
from core.config import Settings
from handlers.app import create_app
from tests.support.background import draining_client
from tests.support.data import ALICE
from tests.support.leaks import remember
from tests.support.mail import read_outbox

# Preflights and the live-jurisdictions list only read (each test builds its own app on the
# module's moto); the registration and the MFA reset write, and get an AWS of their own.
pytestmark = pytest.mark.shared_aws

FRONTEND = "https://cc.example.test"
EMAIL = "quillon.vantreska@example.com"
PASSWORD = remember("Meadow-Lantern-5820!")
PROCESSED = {"message": "request processed"}
CC_LINKS = emails.Links(FRONTEND, emails.link_templates("compactconnect", {}))
LIVE = {"aslp": ["ky", "oh"], "octp": ["co"], "coun": []}

# What the frontend's client adds to every call, as a browser sends it.
FRONTEND_HEADERS = {
    "Accept": "application/json, text/plain, */*",
    "Authorization": "null null",
    "Cache-Control": "no-cache",
    "Origin": FRONTEND,
}
# The preflight's answer for this origin: every list exact.
ALLOWED_HEADERS = (
    "Accept, Accept-Language, Authorization, Cache-Control, Content-Language, Content-Type, "
    "X-Request-Id"
)
PREFLIGHT_ANSWER = {
    "access-control-allow-origin": FRONTEND,
    "access-control-allow-methods": "DELETE, GET, POST",
    "access-control-allow-headers": ALLOWED_HEADERS,
    "access-control-max-age": "600",
}
CORS_ANSWER = {
    "access-control-allow-origin": FRONTEND,
    "access-control-expose-headers": "X-Request-Id, Retry-After, WWW-Authenticate, Allow",
}


@pytest.fixture
def frontend_settings(aws: Settings) -> Settings:
    """The settings README asks for when CompactConnect's frontend is the UI."""
    return aws.model_copy(
        update={
            "ui_base_url": FRONTEND,
            "cors_allowed_origins": FRONTEND,
            "email_link_style": "compactconnect",
            "live_jurisdictions": LIVE,
        }
    )


@pytest.fixture
def browser(frontend_settings: Settings) -> Iterator[Any]:
    """A test client of the app set up for CompactConnect's frontend."""
    with draining_client(create_app(frontend_settings)) as client:
        yield client


def preflight(browser: Any, path: str, method: str = "POST") -> Any:
    """The OPTIONS request a browser sends before the frontend's call."""
    return browser.options(
        path,
        headers={
            "Origin": FRONTEND,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "authorization,cache-control,content-type",
        },
    )


def post(browser: Any, operation: str, raw: bytes) -> Any:
    """The frontend's POST: its headers and its JSON bytes, exactly."""
    return browser.post(
        f"/v1/provider-users/{operation}",
        content=raw,
        headers={**FRONTEND_HEADERS, "Content-Type": "application/json"},
    )


def cors_headers(answer: Any) -> dict[str, str]:
    """The answer's Access-Control-* headers."""
    return {k: v for k, v in answer.headers.items() if k.startswith("access-control-")}


def registration_bytes(token: str = "recaptcha-token") -> bytes:
    """The registration page's body, members in its order."""
    return json.dumps(
        {
            "givenName": ALICE["givenName"],
            "familyName": ALICE["familyName"],
            "email": EMAIL,
            "partialSocial": ALICE["partialSocial"],
            "dob": ALICE["dob"],
            "jurisdiction": ALICE["jurisdiction"],
            "licenseType": ALICE["licenseType"],
            "token": token,
            "compact": ALICE["compact"],
        }
    ).encode()


def initiate_bytes() -> bytes:
    """The MFA reset start page's body, members in its order."""
    return json.dumps(
        {
            "compact": ALICE["compact"],
            "givenName": ALICE["givenName"],
            "familyName": ALICE["familyName"],
            "username": EMAIL,
            "partialSocial": ALICE["partialSocial"],
            "dob": ALICE["dob"],
            "jurisdiction": ALICE["jurisdiction"],
            "licenseType": ALICE["licenseType"],
            "password": PASSWORD,
            "recaptchaToken": "recaptcha-token",
        }
    ).encode()


def verify_bytes(compact: str, provider_id: str, recovery_id: str) -> bytes:
    """The MFA reset confirm page's body: the link's values, renamed as it sends them."""
    return json.dumps(
        {
            "compact": compact,
            "providerId": provider_id,
            "recoveryToken": recovery_id,
            "recaptchaToken": "recaptcha-token",
        }
    ).encode()


def cognito_user(settings: Settings) -> dict[str, Any] | None:
    """The pool's user named EMAIL, or None."""
    idp = boto3.client("cognito-idp", region_name=settings.aws_region)
    users = idp.list_users(UserPoolId=settings.user_pool_id, Filter=f'email = "{EMAIL}"')["Users"]
    return users[0] if users else None


def sub(user: dict[str, Any]) -> str:
    """The user's immutable id: a recreated user has a new one."""
    return next(a["Value"] for a in user["Attributes"] if a["Name"] == "sub")


def choose_password(settings: Settings) -> None:
    """The provider's first sign-in: the temporary password replaced by PASSWORD."""
    idp = boto3.client("cognito-idp", region_name=settings.aws_region)
    idp.admin_set_user_password(
        UserPoolId=settings.user_pool_id, Username=EMAIL, Password=PASSWORD, Permanent=True
    )


@pytest.mark.parametrize(
    ("path", "method"),
    [
        ("/v1/provider-users/registration", "POST"),
        ("/v1/provider-users/initiateRecovery", "POST"),
        ("/v1/provider-users/verifyRecovery", "POST"),
        ("/v1/provider-users/cancelRecovery", "POST"),
        ("/v1/provider-users/me", "GET"),
        ("/v1/provider-users/me/pendingRecovery", "DELETE"),
        ("/v1/public/jurisdictions/live", "GET"),
    ],
)
def test_every_preflight_of_the_frontend_is_granted_with_exact_lists(
    browser: Any, path: str, method: str
) -> None:
    # When the browser preflights a call of the frontend
    answer = preflight(browser, path, method)

    # Then it is granted, naming exactly what may be sent, without credentials
    assert answer.status_code == 200
    assert answer.text == "OK"
    assert cors_headers(answer) == PREFLIGHT_ANSWER


def test_a_preflight_from_another_origin_gets_no_grant(browser: Any) -> None:
    answer = browser.options(
        "/v1/provider-users/initiateRecovery",
        headers={
            "Origin": "https://evil.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,cache-control,content-type",
        },
    )

    assert answer.status_code == 400
    assert "access-control-allow-origin" not in answer.headers


@pytest.mark.own_aws  # registers Alice
def test_registration_as_the_frontend_sends_it(browser: Any, frontend_settings: Settings) -> None:
    # Given the preflight passed
    assert preflight(browser, "/v1/provider-users/registration").status_code == 200

    # When the registration page posts its body
    answer = post(browser, "registration", registration_bytes())

    # Then the generic answer reaches the page, readable cross-origin
    assert (answer.status_code, answer.json()) == (200, PROCESSED)
    assert cors_headers(answer) == CORS_ANSWER
    assert answer.headers["cache-control"] == "no-store"
    # And the account exists, invited with links to CompactConnect's pages
    assert cognito_user(frontend_settings)["UserStatus"] == "FORCE_CHANGE_PASSWORD"
    [invitation] = read_outbox(frontend_settings.outbox_dir)
    expected = emails.invitation(
        EMAIL, ALICE["givenName"], ALICE["familyName"], invitation.temporary_password, CC_LINKS
    )
    assert (invitation.to, invitation.subject, invitation.text) == (
        EMAIL,
        "Your provider account",
        expected.text,
    )


@pytest.mark.own_aws  # registers and recovers Alice
def test_mfa_reset_start_and_confirm_as_the_frontend_sends_them(
    browser: Any, frontend_settings: Settings
) -> None:
    # Given Alice registered through the frontend and chose her password
    assert post(browser, "registration", registration_bytes()).status_code == 200
    choose_password(frontend_settings)
    user_before = cognito_user(frontend_settings)

    # When the MFA reset start page posts its body after its preflight
    assert preflight(browser, "/v1/provider-users/initiateRecovery").status_code == 200
    answer = post(browser, "initiateRecovery", initiate_bytes())

    # Then the generic answer reaches the page
    assert (answer.status_code, answer.json()) == (200, PROCESSED)
    assert cors_headers(answer) == CORS_ANSWER
    # And the confirmation email links to CompactConnect's confirm route, whose query string
    # parses back to the compact, the provider and the token
    confirmation = read_outbox(frontend_settings.outbox_dir)[-1]
    link = confirmation.recovery_link
    query = parse_qs(urlsplit(link).query)
    recovery_id = remember(query["recoveryId"][0])
    assert query == {
        "bypass": ["recovery-practitioner"],
        "compact": [ALICE["compact"]],
        "providerId": [ALICE["providerId"]],
        "recoveryId": [recovery_id],
    }
    assert link == CC_LINKS.verify_recovery(ALICE["compact"], ALICE["providerId"], recovery_id)
    # And its "Not me" link, in the same style, carries its own token in the query string
    not_me = confirmation.not_me_params
    assert not_me.keys() == {"compact", "providerId", "cancelToken"}
    assert confirmation.not_me_link == CC_LINKS.not_me(
        ALICE["compact"], ALICE["providerId"], not_me["cancelToken"]
    )
    assert confirmation.not_me_link.startswith("https://cc.example.test/MfaResetNotMe?compact=")
    expected = emails.recovery_confirmation(
        EMAIL, ALICE["givenName"], link, 15, CC_LINKS, not_me=confirmation.not_me_link
    )
    assert (confirmation.subject, confirmation.text) == (expected.subject, expected.text)

    # When the confirm page opened from that link posts the link's values
    assert preflight(browser, "/v1/provider-users/verifyRecovery").status_code == 200
    answer = post(
        browser,
        "verifyRecovery",
        verify_bytes(query["compact"][0], query["providerId"][0], recovery_id),
    )

    # Then the account is recreated and the promised invitation arrives
    assert (answer.status_code, answer.json()) == (200, PROCESSED)
    assert cors_headers(answer) == CORS_ANSWER
    user_after = cognito_user(frontend_settings)
    assert user_after["UserStatus"] == "FORCE_CHANGE_PASSWORD"
    assert sub(user_after) != sub(user_before)  # a new user, not the old one reset
    invitation, notice = read_outbox(frontend_settings.outbox_dir)[-2:]
    assert notice.subject == "Was it you? Your provider account was recovered"
    assert notice.not_me_link.startswith("https://cc.example.test/MfaResetNotMe?compact=")
    expected = emails.invitation(
        EMAIL,
        ALICE["givenName"],
        ALICE["familyName"],
        invitation.temporary_password,
        CC_LINKS,
        after_recovery=True,
    )
    assert (invitation.subject, invitation.text) == (expected.subject, expected.text)
    assert "new invitation email with a temporary password" in invitation.text


def test_live_jurisdictions_as_the_registration_page_asks(browser: Any) -> None:
    # Given the preflight passed
    assert preflight(browser, "/v1/public/jurisdictions/live", "GET").status_code == 200

    # When the registration page asks which jurisdictions are live, with its usual headers
    answer = browser.get("/v1/public/jurisdictions/live", headers=FRONTEND_HEADERS)

    # Then every compact is listed, cacheable for five minutes, readable cross-origin
    assert (answer.status_code, answer.json()) == (200, LIVE)
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers["cache-control"] == "public, max-age=300"
    assert cors_headers(answer) == CORS_ANSWER


def test_live_jurisdictions_of_one_compact(browser: Any) -> None:
    answer = browser.get(
        "/v1/public/jurisdictions/live", params={"compact": "octp"}, headers=FRONTEND_HEADERS
    )

    assert (answer.status_code, answer.json()) == (200, {"octp": ["co"]})
    assert answer.headers["cache-control"] == "public, max-age=300"


def test_live_jurisdictions_of_an_unknown_compact_is_a_problem(browser: Any) -> None:
    answer = browser.get(
        "/v1/public/jurisdictions/live", params={"compact": "nope"}, headers=FRONTEND_HEADERS
    )

    assert answer.status_code == 400
    assert answer.headers["content-type"] == "application/problem+json"
    detail = "'compact' must be one of ['aslp', 'octp', 'coun']"  # not what was sent
    assert answer.json() == {
        "type": "about:blank",
        "title": "Bad Request",
        "status": 400,
        "detail": detail,
        "message": detail,
    }
    assert cors_headers(answer) == CORS_ANSWER


def test_the_local_stack_lists_the_jurisdictions_of_its_demo_data(client: Any) -> None:
    # Given the local stack with LIVE_JURISDICTIONS unset (the suite's settings)
    # When the page asks
    answer = client.get("/v1/public/jurisdictions/live")

    # Then it lists the jurisdictions of core/local/demo_licenses.csv
    assert (answer.status_code, answer.json()) == (
        200,
        {"aslp": ["ky", "ne", "oh"], "octp": ["co", "wa"], "coun": ["ky"]},
    )
