"""The whole journey clicked through the reference pages in Debian's Chromium.

The server runs with its real response floors: the pages must stay usable while a POST takes
2 to 5 seconds (a busy button, then the answer), and that is what a person sees. They cost
about ten seconds of this test.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from http import HTTPStatus
from urllib.parse import urlsplit

import pytest
import requests
from playwright.sync_api import Browser, Page, Route, expect, sync_playwright

from tests.e2e.conftest import Server
from tests.support.browser import CHROMIUM, capture
from tests.support.leaks import remember
from tests.support.mail import Mail, read_outbox
from tests.support.totp import MotoTOTP, fresh_code

pytestmark = pytest.mark.e2e

# Avery, a demo licensee of the local stack (README), so the screenshots match the walkthrough.
AVERY = {
    "compact": "aslp",
    "jurisdiction": "oh",
    "licenseType": "audiologist",
    "givenName": "Avery",
    "familyName": "Lindqvist",
    "dob": "1984-03-17",
    "partialSocial": "4821",
}
EMAIL = "avery@example.com"
INVITATION, RECOVERED = "Your provider account", "Your provider account was recovered"
CONFIRMATION = "Confirm account recovery"
NOTICE = "Was it you? Your provider account was recovered"
LOCKED = "Your provider account is locked"
CANCELLED = "Account recovery cancelled"
MAIL_TIMEOUT_SECONDS = 30
# The slowest POST waits out a 5 s floor; a loaded machine adds to it.
ANSWER_TIMEOUT_MS = 30_000
MAX_TABS = 10  # skip link, four navigation links, the button


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless."""
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh tab in a fresh context (its own sessionStorage)."""
    # A fixed locale and time zone: the account page shows local times, the same on every machine.
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, locale="en-US", timezone_id="America/Chicago"
    )
    try:
        yield context.new_page()
    finally:
        context.close()


def wait_for_mail(server: Server, subject: str, seen: int = 0) -> Mail:
    """The (seen+1)-th message to Avery with `subject`; emails may go out after the answer."""
    deadline = time.monotonic() + MAIL_TIMEOUT_SECONDS
    while True:
        found = [
            m for m in read_outbox(server.outbox_dir) if m.to == EMAIL and m.subject == subject
        ]
        if len(found) > seen:
            return found[seen]
        assert time.monotonic() < deadline, f"no {subject!r} mail #{seen + 1} to {EMAIL}"
        time.sleep(0.2)


def mail_count(server: Server, subject: str) -> int:
    """How many messages with `subject` went to Avery."""
    return sum(1 for m in read_outbox(server.outbox_dir) if m.to == EMAIL and m.subject == subject)


def fill_license(page: Page) -> None:
    """Avery's license facts, as a person picks and types them."""
    page.get_by_label("Compact").select_option("aslp")
    page.get_by_label("License type").select_option("audiologist")
    page.get_by_label("State of the license").select_option("oh")
    page.get_by_label("Given name").fill(AVERY["givenName"])
    page.get_by_label("Family name").fill(AVERY["familyName"])
    page.get_by_label("Date of birth").fill(AVERY["dob"])
    page.get_by_label("Last four digits of your Social Security number").fill(
        AVERY["partialSocial"]
    )


def status(page: Page):  # noqa: ANN201 - a Playwright locator
    """The page's live status message."""
    return page.locator("#status")


def first_sign_in(page: Page, server: Server, temporary_password: str, shots: str = "") -> str:
    """Temporary password → new password → authenticator enrolment → /account. The password."""
    page.goto(f"{server.origin}/sign-in")
    if shots:
        capture(page, "sign-in")
    page.get_by_label("Email address").fill(EMAIL)
    page.get_by_label("Password", exact=True).fill(temporary_password)
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("heading", name="Choose your password")).to_be_visible()
    # Password managers file the new password under her email
    expect(page.locator("#new-password-username")).to_have_value(EMAIL)
    expect(page.locator("#policy")).to_have_text(
        "At least 12 characters, with an upper-case letter, a lower-case letter, a digit and "
        "a symbol. Use it nowhere else."
    )
    if shots:
        capture(page, "sign-in-new-password")
    password = remember(f"Browser-{int(time.time())}-Aa9!")
    page.get_by_label("New password", exact=True).fill(password)
    page.get_by_label("New password again").fill(password)
    page.get_by_role("button", name="Save my password").click()

    expect(page.get_by_role("heading", name="Set up your authenticator app")).to_be_visible()
    expect(page.get_by_role("img", name=re.compile("QR code"))).to_be_visible()
    secret = remember(page.locator("#mfa-secret").inner_text())
    if shots:
        capture(page, "sign-in-authenticator")
    page.get_by_label("6-digit code from the app").fill(fresh_code(MotoTOTP(secret)))
    page.get_by_role("button", name="Finish setup").click()
    expect(page).to_have_url(f"{server.origin}/account")
    return password


def sign_in_with_code(page: Page, server: Server, password: str, go: bool = True) -> None:
    """Email, password and the authenticator's code, on to /account (from /sign-in if `go`)."""
    if go:
        page.goto(f"{server.origin}/sign-in")
    page.get_by_label("Email address").fill(EMAIL)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    page.get_by_label("6-digit code from your authenticator app").fill(
        fresh_code(MotoTOTP("asdfasdfasdf"))  # the only secret moto ever associates
    )
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{server.origin}/account")


THIS_BROWSER = ", from Chrome on Linux at 127.0.0.1"  # how /account names where each came from


def events_shown(page: Page) -> list[str]:
    """The account events listed on /account, newest first, without their times."""
    expect(page.locator("#profile")).to_be_visible()
    return [text.split(": ", 1)[1] for text in page.locator("#events li").all_inner_texts()]


def id_token(page: Page) -> str:
    """The ID token the pages keep in this tab's sessionStorage."""
    return remember(page.evaluate("sessionStorage.getItem('idToken')"))


def me_status(server: Server, token: str) -> int:
    """The status of GET /me with `token`."""
    return requests.get(
        f"{server.api_url}/provider-users/me",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    ).status_code


def test_register_enrol_recover_and_re_enrol_in_a_browser(server: Server, page: Page) -> None:
    """Every page of the journey, as a person clicks through it, checked and photographed."""
    page.set_default_timeout(ANSWER_TIMEOUT_MS)
    expect.set_options(timeout=ANSWER_TIMEOUT_MS)
    # Script errors and Content-Security-Policy refusals show up as console errors.
    problems: list[str] = []
    page.on("console", lambda message: message.type == "error" and problems.append(message.text))
    page.on("pageerror", lambda error: problems.append(str(error)))

    # Given Avery registers on /register
    page.goto(f"{server.origin}/register")
    capture(page, "register")
    fill_license(page)
    page.get_by_label("Email address").fill(EMAIL)
    page.get_by_role("button", name="Register").click()
    expect(status(page)).to_have_text(
        "Thank you. If your details match a license record, an email with a temporary password "
        f"is on its way to {EMAIL}. Then sign in with it."
    )
    capture(page, "register-sent")

    # When she signs in with the invitation's temporary password, her own password and an app
    invitation = wait_for_mail(server, INVITATION)
    assert f"Sign in at {server.origin}/sign-in " in invitation.text
    password = first_sign_in(page, server, invitation.temporary_password, shots="first")

    # Then her account page shows her license and the registration
    expect(page.locator("#name")).to_have_text("Avery Lindqvist")
    assert page.locator("#licenses li").all_inner_texts() == [
        "audiologist, KY, number KY-AUD-5530 (active)",
        "audiologist, OH, number OH-AUD-10021 (active)",
    ]
    assert events_shown(page) == [f"Account registered{THIS_BROWSER}"]
    capture(page, "account")
    lost_device_token = id_token(page)

    # When she signs out and back in, the authenticator's code is asked for
    page.get_by_role("button", name="Sign out").click()
    expect(status(page)).to_have_text("You are signed out.")
    assert page.evaluate("sessionStorage.length") == 0
    page.get_by_label("Email address").fill(EMAIL)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    capture(page, "sign-in-code")
    page.get_by_label("6-digit code from your authenticator app").fill(
        fresh_code(MotoTOTP("asdfasdfasdf"))  # the only secret moto ever associates
    )
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{server.origin}/account")

    # When she changes her password on the account page, first mistyping the current one
    page.get_by_label("Current password").fill(f"{password}-wrong")
    new_password = remember(f"Changed-{int(time.time())}-Bb8?")
    page.get_by_label("New password", exact=True).fill(new_password)
    page.get_by_label("New password again").fill(new_password)
    page.get_by_role("button", name="Change my password").click()
    expect(status(page)).to_have_text(
        "That is not your current password, or your session has ended. Check it and try "
        "again, or sign in again."
    )
    # And the keyboard is back on the button it pressed
    expect(page.get_by_role("button", name="Change my password")).to_be_focused()
    page.get_by_label("Current password").fill(password)
    page.get_by_role("button", name="Change my password").click()
    expect(status(page)).to_have_text(
        "Your password is changed. Use the new one the next time you sign in."
    )
    assert page.get_by_label("New password", exact=True).input_value() == ""
    page.get_by_role("button", name="Sign out").click()
    expect(status(page)).to_have_text("You are signed out.")

    # Then the old password no longer signs in, and the email stays for another try
    page.get_by_label("Email address").fill(EMAIL)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(status(page)).to_have_text(
        "That email and password do not match, or this sign-in took too long. Please start again."
    )
    expect(page.get_by_label("Email address")).to_have_value(EMAIL)
    expect(page.get_by_label("Password", exact=True)).to_have_value("")
    sign_in_with_code(page, server, new_password, go=False)
    page.get_by_role("button", name="Sign out").click()
    expect(status(page)).to_have_text("You are signed out.")
    password = new_password

    # When she loses the device and asks to recover the account
    page.goto(f"{server.origin}/account-recovery")
    capture(page, "account-recovery")
    fill_license(page)
    page.get_by_label("Email address of your account").fill(EMAIL)
    page.get_by_label("Current password").fill(password)
    page.get_by_role("button", name="Email me a recovery link").click()
    expect(status(page)).to_have_text(
        'Request received. If everything matches, a "Confirm account recovery" email is on its '
        f"way to {EMAIL}. Its link works once, for 15 minutes."
    )
    capture(page, "account-recovery-sent")
    wait_for_mail(server, CONFIRMATION)

    # And, signed in on a device that still works, sees that recovery pending and cancels it
    sign_in_with_code(page, server, password)
    expect(
        page.get_by_role("heading", name="A recovery of this account is pending")
    ).to_be_visible()
    expect(page.locator("#pending-text")).to_contain_text("Someone asked on ")
    capture(page, "account-pending")
    page.get_by_role("button", name="It was not me: cancel it").click()
    expect(status(page)).to_have_text(
        "The recovery is cancelled: its link no longer works, and an email confirms it. Now "
        "change your password below."
    )
    expect(status(page)).to_be_focused()
    expect(page.locator("#pending")).to_be_hidden()
    wait_for_mail(server, CANCELLED)
    page.reload()
    assert events_shown(page)[:2] == [
        f"Recovery cancelled{THIS_BROWSER}",
        f"Recovery requested{THIS_BROWSER}",
    ]
    expect(page.locator("#pending")).to_be_hidden()
    page.get_by_role("button", name="Sign out").click()
    expect(status(page)).to_have_text("You are signed out.")

    # When she asks again, then the new link is the one she goes on with
    page.goto(f"{server.origin}/account-recovery")
    fill_license(page)
    page.get_by_label("Email address of your account").fill(EMAIL)
    page.get_by_label("Current password").fill(password)
    page.get_by_role("button", name="Email me a recovery link").click()
    expect(status(page)).to_contain_text("Request received.")
    link = wait_for_mail(server, CONFIRMATION, seen=1).recovery_link
    token = remember(
        dict(p.split("=", 1) for p in urlsplit(link).fragment.split("&"))["recoveryToken"]
    )
    assert link.startswith(f"{server.origin}/account-recovery/verify#")

    # And opens the link (as a mail scanner would) without pressing the button
    page.goto(link)
    expect(page.get_by_role("button", name="Reset my account")).to_be_enabled()
    assert page.url == f"{server.origin}/account-recovery/verify"  # the fragment is gone
    assert page.evaluate("window.location.href") == f"{server.origin}/account-recovery/verify"
    page.goto(f"{server.origin}/register")
    page.go_back()
    assert page.url == f"{server.origin}/account-recovery/verify"  # nor is it in the history

    # Then nothing changed: no invitation, and the lost device's session still works
    time.sleep(1)
    assert mail_count(server, RECOVERED) == 0
    assert me_status(server, lost_device_token) == 200

    # When she opens the link again and presses the button
    page.goto(link)
    capture(page, "verify")
    page.get_by_role("button", name="Reset my account").click()
    expect(status(page)).to_have_text(
        "Your account was reset. An email with a new temporary password is on its way: sign "
        "in with it, choose a new password and set up your new device. Go to sign in."
    )
    capture(page, "verify-done")

    # Then a new invitation lets her in with a new password and a new authenticator
    recovered = wait_for_mail(server, RECOVERED)
    recovered_password = first_sign_in(page, server, recovered.temporary_password)
    assert events_shown(page) == [
        f"Recovery completed{THIS_BROWSER}",
        f"Recovery requested{THIS_BROWSER}",
        f"Recovery cancelled{THIS_BROWSER}",
        f"Recovery requested{THIS_BROWSER}",
        f"Account registered{THIS_BROWSER}",
    ]

    # And the lost device's ID token is refused
    assert me_status(server, lost_device_token) == 401

    # When the completion notice's "Not me" link is opened (as a mail scanner would)
    notice = wait_for_mail(server, NOTICE)
    cancel_token = notice.not_me_params["cancelToken"]
    page.goto(notice.not_me_link)
    not_me = page.get_by_role("button", name="It was not me: stop it")
    expect(not_me).to_be_enabled()
    assert page.url == f"{server.origin}/account-recovery/not-me"  # the fragment is gone
    # Then nothing changed until the button is pressed
    time.sleep(1)
    assert mail_count(server, LOCKED) == 0
    assert me_status(server, lost_device_token) == 401
    capture(page, "not-me")
    # When it is pressed, the account is locked and an email says so
    not_me.click()
    expect(status(page)).to_have_text(
        "Thank you. If this link was still valid, the recovery is stopped (or your account "
        "locked) and an email tells you which, and what to do next. Go to sign in."
    )
    # And the answer has the keyboard focus, the button being gone
    expect(status(page)).to_be_focused()
    capture(page, "not-me-done")
    wait_for_mail(server, LOCKED)

    # Then signing in says the account is locked and who unlocks it
    page.goto(f"{server.origin}/sign-in")
    page.get_by_label("Email address").fill(EMAIL)
    page.get_by_label("Password", exact=True).fill(recovered_password)
    page.get_by_role("button", name="Sign in").click()
    expect(status(page)).to_have_text(
        'This account is locked, as its "Not me" link asked. Contact your compact\'s support: '
        "once they have checked who you are, they unlock it."
    )

    # And neither token reached the server: not in its request log, not anywhere
    server_log = server.log_file.read_text()
    assert "method=GET path=/account-recovery/verify status=200" in server_log
    assert "method=GET path=/account-recovery/not-me status=200" in server_log
    assert token not in server_log
    assert cancel_token not in server_log

    # And no page ever hit a script error or a policy refusal: the only console errors are
    # Cognito's three refusals above (wrong current password, old password, locked account)
    refused = "Failed to load resource: the server responded with a status of 400 (BAD REQUEST)"
    assert problems == [refused] * 3


def test_a_used_or_broken_link_says_to_start_again(server: Server, page: Page) -> None:
    """The verify page, keyboard only: a 400 and an incomplete link explained, fragment gone."""
    page.set_default_timeout(ANSWER_TIMEOUT_MS)

    # Given a link whose token is wrong
    page.goto(
        f"{server.origin}/account-recovery/verify#compact=aslp"
        "&providerId=0f8d2b6e-3c1a-4f5e-9b7d-2a6c8e4f1b3d&recoveryToken=not-the-token"
    )
    assert page.url == f"{server.origin}/account-recovery/verify"

    # When the button is reached with Tab alone and pressed with Enter
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "confirm":
            break
    assert page.evaluate("document.activeElement.id") == "confirm", "Tab never reaches the button"
    page.keyboard.press("Enter")

    # Then the page says the link is spent and where to start again
    expect(status(page)).to_have_text(
        "This link is invalid, has expired or was already used. Start the recovery again.",
        timeout=ANSWER_TIMEOUT_MS,
    )
    expect(page.get_by_role("button", name="Reset my account")).to_be_hidden()
    # And the keyboard goes on from the answer, not from the top of the page
    expect(status(page)).to_be_focused()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Start the recovery again."
    expect(page.get_by_role("link", name="Start the recovery again.")).to_have_attribute(
        "href", "/account-recovery"
    )

    # Given a link cut short, then there is nothing to press and the page says what to do
    page.goto(f"{server.origin}/account-recovery/verify#compact=aslp")
    expect(status(page)).to_have_text(
        "This link is incomplete. Open the link from the email again, exactly as sent, or "
        "start the recovery again."
    )
    expect(page.get_by_role("button", name="Reset my account")).to_be_hidden()
    capture(page, "verify-incomplete")


def test_a_form_says_what_is_missing_and_what_breaks_its_rule(server: Server, page: Page) -> None:
    """Nothing is sent while a field is empty or malformed; the page names each and its rule."""
    sent: list[str] = []
    page.on("request", lambda request: sent.append(f"{request.method} {request.url}"))

    # Given the registration form with the SSN digits and the email typed wrong, the rest empty
    page.goto(f"{server.origin}/register")
    page.get_by_label("Last four digits of your Social Security number").fill("12a4")
    page.get_by_label("Email address").fill("not-an-email")
    page.get_by_role("button", name="Register").click()

    # Then the empty fields are asked for, the wrong ones named with their rule
    expect(status(page)).to_have_text(
        "Please fill in: Compact, License type, State of the license, Given name, Family name, "
        "Date of birth. Please correct: Last four digits of your Social Security number "
        "(4 digits), Email address (an address such as name@example.com)."
    )
    expect(page.get_by_label("Compact")).to_be_focused()

    # Given the recovery form with everything right but a password too short to be one
    page.goto(f"{server.origin}/account-recovery")
    fill_license(page)
    page.get_by_label("Email address").fill(EMAIL)
    page.get_by_label("Current password").fill("short")
    page.get_by_role("button", name=re.compile("recovery", re.IGNORECASE)).click()

    # Then only the password is named, with its rule, and nothing was sent
    expect(status(page)).to_have_text("Please correct: Current password (at least 12 characters).")
    expect(page.get_by_label("Current password")).to_have_attribute("aria-invalid", "true")
    assert not [request for request in sent if not request.startswith("GET ")]


COOL_DOWN_DETAIL = "This recovery link works from 2026-12-04 09:30:00 UTC"


@pytest.mark.parametrize(
    ("status_code", "detail", "said"),
    [
        pytest.param(
            400,
            COOL_DOWN_DETAIL,
            f"{COOL_DOWN_DETAIL}. It is not used up: press the button again in 2 seconds. If you "
            "close this page, open the link from the email again then.",
            id="the genuine link under its cool-down",
        ),
        pytest.param(
            429,
            "Too many attempts",
            "Too many attempts. Your link still works until it expires: press "
            "the button again in 2 seconds.",
            id="too many attempts for the account",
        ),
    ],
)
def test_an_answer_with_retry_after_says_when_to_press_again_and_waits(
    server: Server, page: Page, status_code: int, detail: str, said: str
) -> None:
    """The verify page given an answer that carries Retry-After: what it says, the button back."""
    page.set_default_timeout(ANSWER_TIMEOUT_MS)
    sent: list[str] = []

    def not_yet(route: Route) -> None:
        # The spec's answers that carry Retry-After (the API side: tests/api/test_not_me_api.py
        # for the cool-down, tests/api/test_recovery_api.py for 429), here 2 seconds
        sent.append(route.request.post_data or "")
        route.fulfill(
            status=status_code,
            headers={"Retry-After": "2", "Content-Type": "application/problem+json"},
            body=json.dumps(
                {"type": "about:blank", "title": HTTPStatus(status_code).phrase}
                | {"status": status_code, "detail": detail, "message": detail}
            ),
        )

    page.route("**/v1/provider-users/verifyRecovery", not_yet)
    page.goto(
        f"{server.origin}/account-recovery/verify#compact=aslp"
        "&providerId=0f8d2b6e-3c1a-4f5e-9b7d-2a6c8e4f1b3d&recoveryToken=held.link"
    )
    button = page.get_by_role("button", name="Reset my account")

    # When the button is pressed and the answer says to wait
    button.click()

    # Then the page says so, and when to press again, with the button off meanwhile
    expect(status(page)).to_have_text(said, timeout=ANSWER_TIMEOUT_MS)
    expect(button).to_be_disabled()
    # And once the wait is over the same link can be sent again
    expect(button).to_be_enabled(timeout=10_000)
    button.click()
    for _ in range(100):
        if len(sent) == 2:
            break
        page.wait_for_timeout(100)
    assert [json.loads(body)["recoveryToken"] for body in sent] == ["held.link", "held.link"]


def test_a_session_older_than_the_recovery_is_sent_to_sign_in_again(
    server: Server, page: Page
) -> None:
    """The account page given the API's 403 for a session begun before the recovery was asked."""
    pending = {
        "requestedAt": "2026-12-04T09:00:00.000000Z",
        "usableFrom": "2026-12-05T09:00:00.000000Z",
        "expiresAt": "2026-12-05T09:15:00.000000Z",
    }
    profile = {
        "providerId": "0f8d2b6e-3c1a-4f5e-9b7d-2a6c8e4f1b3d",
        "compact": "aslp",
        "givenName": AVERY["givenName"],
        "familyName": AVERY["familyName"],
        "email": EMAIL,
        "homeJurisdiction": "oh",
        "licenses": [],
        "events": [],
        "pendingRecovery": pending,
    }
    detail = "Sign in again to cancel this recovery: your session began before it was requested"
    refusal = {"type": "about:blank", "title": "Forbidden", "status": 403, "detail": detail}
    page.route(
        "**/v1/provider-users/me",
        lambda route: route.fulfill(status=200, json=profile),
    )
    page.route(
        "**/v1/provider-users/me/pendingRecovery",
        lambda route: route.fulfill(
            status=403,
            headers={"Content-Type": "application/problem+json"},
            body=json.dumps(refusal | {"message": detail}),
        ),
    )
    # Given a tab signed in before someone asked to recover the account
    page.goto(f"{server.origin}/sign-in")
    page.evaluate("sessionStorage.setItem('idToken', 'a.session.token')")
    page.goto(f"{server.origin}/account")

    # When it presses the cancel the account page offers
    page.get_by_role("button", name="It was not me: cancel it").click()

    # Then it is told to sign in again first, or to use the email, and its tokens are gone
    expect(status(page)).to_have_text(
        "To cancel a recovery asked for after you signed in, sign in again first (or use "
        '"It was not me" in the email about it). Sign in again'
    )
    expect(page.get_by_role("link", name="Sign in again")).to_have_attribute("href", "/sign-in")
    assert page.evaluate("sessionStorage.length") == 0
    expect(page.locator("#pending")).to_be_visible()


def test_pages_have_their_own_policy_and_the_api_keeps_its_headers(server: Server) -> None:
    """Pages: script-src 'self', no inline script; API answers are untouched by the pages."""
    page_answer = requests.get(f"{server.origin}/sign-in", timeout=10)
    policy = page_answer.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy.split("; ")
    assert "unsafe-inline" not in policy
    assert page_answer.headers["Content-Type"] == "text/html; charset=utf-8"
    assert page_answer.headers["X-Content-Type-Options"] == "nosniff"
    assert "<script>" not in page_answer.text  # every script is a file of our own
    api_answer = requests.get(f"{server.api_url}/health", timeout=10)
    assert api_answer.headers.get("Content-Security-Policy") != policy
    escape = (
        f"{server.origin}/assets/%2e%2e/%2e%2e/core/config.py"  # decoded to ../.. by the server
    )
    assert requests.get(escape, timeout=10).status_code == 404
