"""End to end on the real server: register, sign in with MFA, lose the device, recover."""

from __future__ import annotations

import csv
import re
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import pyotp
import pytest
import requests
from botocore.exceptions import ClientError

from core import emails
from core.local.stack import DEMO_LICENSES
from tests.e2e.conftest import Server
from tests.support.data import ALICE, BOB, registration_body
from tests.support.leaks import remember
from tests.support.mail import Mail, read_outbox
from tests.support.totp import TOTP_PERIOD, MotoTOTP, fresh_code
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e

PROCESSED = {"message": "request processed"}
ALICE_EMAIL = "alice@example.com"
BOB_EMAIL = "bob@example.com"
REGISTRATION_FLOOR, INITIATE_FLOOR, VERIFY_FLOOR, CANCEL_FLOOR = 2.0, 5.0, 3.0, 2.0
VERIFY_REQUEST_ID = "journey-verify-1"


def wrong_code(totp: pyotp.TOTP) -> str:
    """A six-digit code that is none of the codes of the previous, current or next window."""
    now = time.time()
    near = {totp.at(now + offset) for offset in (-TOTP_PERIOD, 0, TOTP_PERIOD)}
    return next(f"{n:06d}" for n in range(1_000_000) if f"{n:06d}" not in near)


def new_password() -> str:
    """A password the pool's policy accepts, recorded as a secret no log may hold."""
    return remember(f"Journey-{secrets.token_hex(8)}-Aa9!")


def post(server: Server, path: str, body: dict[str, Any]) -> tuple[requests.Response, float]:
    """POST JSON to the API; the response and how long it took."""
    started = time.monotonic()
    answer = requests.post(f"{server.api_url}{path}", json=body, timeout=30)
    return answer, time.monotonic() - started


def mails_to(server: Server, to: str) -> list[Mail]:
    """The outbox messages addressed to `to`, oldest first."""
    return [mail for mail in read_outbox(server.outbox_dir) if mail.to == to]


def wait_for_mail(server: Server, to: str, subject: str, seen: int = 0) -> Mail:
    """The first message to `to` with `subject` after the first `seen` such messages."""
    deadline = time.monotonic() + 5
    while True:
        found = [m for m in mails_to(server, to) if m.subject == subject][seen:]
        if found:
            return found[0]
        assert time.monotonic() < deadline, f"no {subject!r} mail to {to}"
        time.sleep(0.1)


def registration_outcomes(server: Server) -> int:
    """How many registrations the server has finished (one outcome line each)."""
    return server.log_file.read_text(errors="replace").count("registration outcome=")


def remember_tokens(result: dict[str, Any]) -> dict[str, Any]:
    """Record the tokens of an AuthenticationResult as secrets; returns it."""
    for name in ("AccessToken", "IdToken", "RefreshToken"):
        if name in result:
            remember(result[name])
    return result


def sign_in(cognito: Any, server: Server, username: str, password: str) -> dict[str, Any]:
    """First leg of USER_PASSWORD_AUTH, as the frontend does it."""
    return cognito.initiate_auth(
        ClientId=server.user_pool_client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": username, "PASSWORD": password},
    )


def first_sign_in(
    cognito: Any, server: Server, username: str, temporary_password: str
) -> tuple[str, dict[str, Any]]:
    """Temporary password → new password → MFA setup with a real TOTP code → tokens.

    Returns the chosen password and the AuthenticationResult.
    """
    challenge = sign_in(cognito, server, username, temporary_password)
    assert challenge["ChallengeName"] == "NEW_PASSWORD_REQUIRED"
    chosen = new_password()
    setup = cognito.respond_to_auth_challenge(
        ClientId=server.user_pool_client_id,
        ChallengeName="NEW_PASSWORD_REQUIRED",
        Session=challenge["Session"],
        ChallengeResponses={"USERNAME": username, "NEW_PASSWORD": chosen},
    )
    assert setup["ChallengeName"] == "MFA_SETUP"
    association = cognito.associate_software_token(Session=setup["Session"])
    totp = MotoTOTP(remember(association["SecretCode"]))

    with pytest.raises(ClientError) as mismatch:
        cognito.verify_software_token(
            Session=association["Session"], UserCode=wrong_code(totp), FriendlyDeviceName="phone"
        )
    assert mismatch.value.response["Error"]["Code"] == "CodeMismatchException"

    verified = cognito.verify_software_token(
        Session=association["Session"], UserCode=fresh_code(totp), FriendlyDeviceName="phone"
    )
    assert verified["Status"] == "SUCCESS"
    done = cognito.respond_to_auth_challenge(
        ClientId=server.user_pool_client_id,
        ChallengeName="MFA_SETUP",
        Session=verified["Session"],
        ChallengeResponses={"USERNAME": username},
    )
    return chosen, remember_tokens(done["AuthenticationResult"])


def sign_in_with_mfa(cognito: Any, server: Server, username: str, password: str) -> dict[str, Any]:
    """Password, then the SOFTWARE_TOKEN_MFA challenge with the enrolled device's code."""
    challenge = sign_in(cognito, server, username, password)
    assert challenge["ChallengeName"] == "SOFTWARE_TOKEN_MFA"
    totp = MotoTOTP("asdfasdfasdf")  # the only secret moto ever associates
    done = cognito.respond_to_auth_challenge(
        ClientId=server.user_pool_client_id,
        ChallengeName="SOFTWARE_TOKEN_MFA",
        Session=challenge["Session"],
        ChallengeResponses={"USERNAME": username, "SOFTWARE_TOKEN_MFA_CODE": fresh_code(totp)},
    )
    return remember_tokens(done["AuthenticationResult"])


def me(server: Server, id_token: str) -> requests.Response:
    """GET /me with an ID token, as the frontend calls it."""
    return requests.get(
        f"{server.api_url}/provider-users/me",
        headers={"Authorization": f"Bearer {id_token}"},
        timeout=10,
    )


def event_types(answer: requests.Response) -> list[str]:
    """The account event types of a /me answer, newest first."""
    return [event["type"] for event in answer.json()["events"]]


def assert_tokens(result: dict[str, Any]) -> None:
    """An AuthenticationResult with the three tokens."""
    assert {"AccessToken", "IdToken", "RefreshToken"} <= result.keys()
    assert result["TokenType"] == "Bearer"


def assert_processed(answer: requests.Response, took: float, floor: float) -> None:
    """The generic 200, never before the operation's floor."""
    assert (answer.status_code, answer.json()) == (200, PROCESSED)
    assert took >= floor, f"answered after {took:.2f} s, before the {floor} s floor"


@pytest.mark.parametrize("link_style", ["fragment", "compactconnect"])
def test_register_sign_in_lose_device_and_recover(
    link_style: str, request: pytest.FixtureRequest
) -> None:
    """The whole journey of a provider, against the real process and its moto stack.

    Once with each built-in email link style: the provider follows the link as emailed.
    """
    server: Server = request.getfixturevalue(
        "server" if link_style == "fragment" else "compactconnect_server"
    )
    links = emails.Links(server.origin, emails.link_templates(link_style, {}))
    cognito = server.cognito()

    # Given ALICE registers with alice@example.com
    answer, took = post(
        server, "/provider-users/registration", registration_body(ALICE, ALICE_EMAIL)
    )
    assert_processed(answer, took, REGISTRATION_FLOOR)

    # Then an invitation with a temporary password arrives
    invitation = wait_for_mail(server, ALICE_EMAIL, "Your provider account")
    temporary_password = invitation.temporary_password
    expected = emails.invitation(
        ALICE_EMAIL, ALICE["givenName"], ALICE["familyName"], temporary_password, links
    )
    assert invitation.text == expected.text

    # When she signs in, chooses a password and enrolls her phone (a wrong code is rejected)
    password, tokens = first_sign_in(cognito, server, ALICE_EMAIL, temporary_password)
    assert_tokens(tokens)

    # Then the next sign-in asks for the password and a TOTP code
    session = sign_in_with_mfa(cognito, server, ALICE_EMAIL, password)
    assert_tokens(session)

    # And her dashboard shows her account, and nothing she did not need to see
    profile = me(server, session["IdToken"])
    assert profile.status_code == 200
    assert profile.headers["Cache-Control"] == "no-store"
    assert profile.json()["email"] == ALICE_EMAIL
    assert profile.json()["providerId"] == ALICE["providerId"]
    assert event_types(profile) == ["registered"]
    assert ALICE["dob"] not in profile.text
    assert ALICE["partialSocial"] not in profile.text

    # When she loses the phone and starts a recovery with her password and license facts
    answer, took = post(
        server,
        "/provider-users/initiateRecovery",
        {
            "username": ALICE_EMAIL,
            "password": password,
            "compact": ALICE["compact"],
            "jurisdiction": ALICE["jurisdiction"],
            "givenName": ALICE["givenName"],
            "familyName": ALICE["familyName"],
            "dob": ALICE["dob"],
            "partialSocial": ALICE["partialSocial"],
            "licenseType": ALICE["licenseType"],
            "recaptchaToken": "x",
        },
    )
    assert_processed(answer, took, INITIATE_FLOOR)

    # Then a confirmation link arrives at the registered address
    confirmation = wait_for_mail(server, ALICE_EMAIL, "Confirm account recovery")
    link = confirmation.recovery_params
    assert {k: link[k] for k in ("compact", "providerId")} == {
        "compact": ALICE["compact"],
        "providerId": ALICE["providerId"],
    }
    # (in the form of the server's link style, parsed back to the three values)
    assert confirmation.recovery_link == links.verify_recovery(
        link["compact"], link["providerId"], link["recoveryToken"]
    )
    expected = emails.recovery_confirmation(
        ALICE_EMAIL,
        ALICE["givenName"],
        confirmation.recovery_link,
        15,
        links,
        not_me=confirmation.not_me_link,
    )
    assert confirmation.text == expected.text
    verify_body = {**link, "recaptchaToken": "x"}

    # When she opens the link (the frontend tags the call with a request id)
    started = time.monotonic()
    answer = requests.post(
        f"{server.api_url}/provider-users/verifyRecovery",
        json=verify_body,
        headers={"X-Request-Id": VERIFY_REQUEST_ID},
        timeout=30,
    )
    assert_processed(answer, time.monotonic() - started, VERIFY_FLOOR)
    assert answer.headers["X-Request-Id"] == VERIFY_REQUEST_ID

    # Then the lost device's session is cut off at once
    cut_off = me(server, session["IdToken"])
    assert cut_off.status_code == 401
    assert cut_off.json()["detail"] == "The session ended when the account was recovered"

    # Then a new invitation says the account was recovered
    recovered = wait_for_mail(server, ALICE_EMAIL, "Your provider account was recovered")
    new_temporary_password = recovered.temporary_password
    expected = emails.invitation(
        ALICE_EMAIL,
        ALICE["givenName"],
        ALICE["familyName"],
        new_temporary_password,
        links,
        after_recovery=True,
    )
    assert recovered.text == expected.text
    assert "recovered" in recovered.text

    # And the old password no longer works
    with pytest.raises(ClientError) as rejected:
        sign_in(cognito, server, ALICE_EMAIL, password)
    assert rejected.value.response["Error"]["Code"] == "NotAuthorizedException"

    # When she signs in with the new temporary password and enrolls a new device
    _, tokens = first_sign_in(cognito, server, ALICE_EMAIL, new_temporary_password)
    assert_tokens(tokens)

    # Then the new session works and the account history tells what happened
    profile = me(server, tokens["IdToken"])
    assert profile.status_code == 200
    assert event_types(profile) == ["recovery_completed", "recovery_requested", "registered"]

    # Then the link cannot be used a second time
    answer, took = post(server, "/provider-users/verifyRecovery", verify_body)
    assert answer.status_code == 400
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert answer.json() == {
        "type": "about:blank",
        "title": "Bad Request",
        "status": 400,
        "detail": "Invalid or expired recovery link",
        "message": "Invalid or expired recovery link",
    }
    assert took >= VERIFY_FLOOR

    # And every log line of the tagged request carries its id
    assert_request_lines_tagged(server, VERIFY_REQUEST_ID)

    # And the metrics count the journey's outcomes, with no personal data in them
    metrics = requests.get(server.metrics_url, timeout=10).text
    public = requests.get(server.api_url.removesuffix("/v1") + "/metrics", timeout=10)
    assert public.status_code == 404  # never on the API's own port
    for operation, outcome in (
        ("registration", "registered"),
        ("initiate_recovery", "sent"),
        ("verify_recovery", "completed"),
    ):
        line = f'provider_accounts_attempts_total{{operation="{operation}",outcome="{outcome}"}}'
        assert line in metrics
    personal = [ALICE_EMAIL, ALICE["providerId"], ALICE["givenName"], ALICE["familyName"]]
    assert [datum for datum in personal if datum in metrics] == []


def assert_request_lines_tagged(server: Server, request_id: str) -> None:
    """The lines logged while serving the request all carry its id (text format: [id])."""
    lines = server.log_file.read_text().splitlines()
    tagged = [line for line in lines if f"[{request_id}]" in line]
    expected = (
        "verify_recovery outcome=completed",
        "Your provider account was recovered",
        "request completed method=POST path=/v1/provider-users/verifyRecovery status=200",
    )
    for fragment in expected:
        matching = [line for line in lines if fragment in line]
        assert matching, f"nothing logged with {fragment!r}"
        assert all(f"[{request_id}]" in line for line in matching), fragment
    assert len(tagged) >= len(expected)


def demo_licensee(given_name: str) -> dict[str, str]:
    """A licensee of core/local/demo_licenses.csv, in the shape of tests/support/data.py."""
    with DEMO_LICENSES.open(newline="") as rows:
        row = next(r for r in csv.DictReader(rows) if r["givenName"] == given_name)
    return {
        "providerId": row["providerId"],
        "compact": row["compact"],
        "jurisdiction": row["jurisdiction"],
        "licenseType": row["licenseType"],
        "givenName": row["givenName"],
        "familyName": row["familyName"],
        "dob": row["dateOfBirth"],
        "partialSocial": row["ssnLastFour"],
    }


# Headers whose value is new on every response, whatever happened: they must be there, alike.
PER_RESPONSE_HEADERS = frozenset({"date", "x-request-id"})


def comparable(answer: requests.Response) -> tuple[int, bytes, set[str], dict[str, str]]:
    """Status, raw body, the set of header names, and every header value but per-response ones."""
    names = {name.lower() for name in answer.headers}
    values = {
        k.lower(): v for k, v in answer.headers.items() if k.lower() not in PER_RESPONSE_HEADERS
    }
    return answer.status_code, answer.content, names - {"date"}, values


def test_registration_answers_alike_whatever_happened(server: Server) -> None:
    """No match, already registered, email of another provider and success look the same."""
    # Given BOB is registered with bob@example.com
    answer, took = post(server, "/provider-users/registration", registration_body(BOB, BOB_EMAIL))
    assert_processed(answer, took, REGISTRATION_FLOOR)
    avery, marisol, jonah = (demo_licensee(n) for n in ("Avery", "Marisol", "Jonah"))
    cases: dict[str, dict[str, str]] = {
        "no match": registration_body({**avery, "partialSocial": "0000"}, "avery@example.com"),
        # (with another email: the same email would renew Bob's unused invitation)
        "already registered": registration_body(BOB, "bob.other@example.com"),
        "email of another provider": registration_body(marisol, BOB_EMAIL),
        "success": registration_body(jonah, "jonah@example.com"),
    }
    notices_before = len(mails_to(server, BOB_EMAIL))
    outcomes_before = registration_outcomes(server)

    # When the four registrations arrive at once
    send = partial(post, server, "/provider-users/registration")
    with ThreadPoolExecutor(max_workers=len(cases)) as pool:
        answers = dict(zip(cases, pool.map(send, cases.values()), strict=True))

    # Then every answer is the generic 200 with the same bytes and headers, none before the floor
    success, _ = answers["success"]
    assert (success.status_code, success.json()) == (200, PROCESSED)
    for case, (answer, took) in answers.items():
        assert comparable(answer) == comparable(success), f"{case} answers differently"
        assert took >= REGISTRATION_FLOOR, f"{case} answered after {took:.2f} s"

    # And each case did what it should behind the identical answers, once its work has run
    wait_until(
        lambda: registration_outcomes(server) >= outcomes_before + len(cases),
        "every registration's outcome logged",
    )
    assert [m.subject for m in mails_to(server, "jonah@example.com")] == ["Your provider account"]
    assert mails_to(server, "avery@example.com") == []
    assert mails_to(server, "bob.other@example.com") == []
    # (both the "already registered" and the "email of another provider" cases notify
    # bob@example.com; MAIL_NOTICE_CAP allows one an hour, arriving together or not)
    notices = [m.subject for m in mails_to(server, BOB_EMAIL)][notices_before:]
    assert notices == ["Someone tried to register your provider account"]


def initiate_body_of(person: dict[str, str], email: str, password: str) -> dict[str, str]:
    """An initiateRecovery request as the frontend sends it."""
    facts = ("compact", "jurisdiction", "givenName", "familyName", "dob", "partialSocial")
    return {
        "username": email,
        "password": password,
        **{name: person[name] for name in facts},
        "licenseType": person["licenseType"],
        "recaptchaToken": "x",
    }


def test_not_me_cancels_a_pending_recovery_and_locks_a_completed_one(server: Server) -> None:
    """Someone else knows the password and the inbox: the owner stops them, twice."""
    cognito = server.cognito()
    tobias, email = demo_licensee("Tobias"), "tobias@example.com"
    # Given Tobias registered, signed in and enrolled his phone
    answer, took = post(server, "/provider-users/registration", registration_body(tobias, email))
    assert_processed(answer, took, REGISTRATION_FLOOR)
    invitation = wait_for_mail(server, email, "Your provider account")
    password, _ = first_sign_in(cognito, server, email, invitation.temporary_password)

    # When someone initiates a recovery and Tobias presses "Not me" in the email
    answer, took = post(
        server, "/provider-users/initiateRecovery", initiate_body_of(tobias, email, password)
    )
    assert_processed(answer, took, INITIATE_FLOOR)
    confirmation = wait_for_mail(server, email, "Confirm account recovery")
    not_me = {**confirmation.not_me_params, "recaptchaToken": "x"}
    answer, took = post(server, "/provider-users/cancelRecovery", not_me)
    assert_processed(answer, took, CANCEL_FLOOR)
    # Then a notice confirms it and advises a new password, and the link is refused
    cancelled = wait_for_mail(server, email, "Account recovery cancelled")
    assert (
        cancelled.text
        == emails.recovery_cancelled_notice(email, "Tobias", emails.Links(server.origin)).text
    )
    answer, _ = post(
        server,
        "/provider-users/verifyRecovery",
        {**confirmation.recovery_params, "recaptchaToken": "x"},
    )
    assert (answer.status_code, answer.json()["detail"]) == (
        400,
        "Invalid or expired recovery link",
    )
    # And his phone still signs him in
    assert_tokens(sign_in_with_mfa(cognito, server, email, password))

    # When someone recovers the account after all, and signs in as the new user
    post(server, "/provider-users/initiateRecovery", initiate_body_of(tobias, email, password))
    confirmation = wait_for_mail(server, email, "Confirm account recovery", seen=1)
    answer, _ = post(
        server,
        "/provider-users/verifyRecovery",
        {**confirmation.recovery_params, "recaptchaToken": "x"},
    )
    assert answer.status_code == 200
    recovered = wait_for_mail(server, email, "Your provider account was recovered")
    _, intruder = first_sign_in(cognito, server, email, recovered.temporary_password)
    assert me(server, intruder["IdToken"]).status_code == 200
    # Then a separate notice tells Tobias when, from where, and how to undo it
    notice = wait_for_mail(server, email, "Was it you? Your provider account was recovered")
    assert "From the address: 127.0.0.1\nBrowser: Python requests" in notice.text
    when = r"When: \d{4}-\d\d-\d\d \d\d:\d\d UTC \(\d{4}-\d\d-\d\d \d\d:\d\d E[SD]T in KY\)"
    assert re.search(when, notice.text), notice.text

    # When Tobias presses the notice's "Not me"
    answer, took = post(
        server, "/provider-users/cancelRecovery", {**notice.not_me_params, "recaptchaToken": "x"}
    )
    assert_processed(answer, took, CANCEL_FLOOR)
    # Then the account is locked: a notice says so, the new session gets 401, sign-in is refused
    wait_for_mail(server, email, "Your provider account is locked")
    refused = me(server, intruder["IdToken"])
    assert (refused.status_code, refused.json()["detail"]) == (401, "The account is locked")
    with pytest.raises(ClientError) as disabled:
        sign_in(cognito, server, email, recovered.temporary_password)
    assert disabled.value.response["Error"]["Code"] == "NotAuthorizedException"
