"""The emails, whole: text part, HTML part, links."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from core import emails
from core.models import MailMessage

LINKS = emails.Links("https://app.example.test/")
PAGE = (
    '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>'
    "<body>{body}</body></html>"
)


def a(url: str) -> str:
    return f'<a href="{url}">{url}</a>'


def test_links_point_at_the_frontend_whatever_the_trailing_slash() -> None:
    for base in ("https://app.example.test", "https://app.example.test/"):
        links = emails.Links(base)
        assert links.sign_in == "https://app.example.test/sign-in"
        assert links.account_recovery == "https://app.example.test/account-recovery"


def test_the_verify_link_carries_its_parameters_in_the_fragment() -> None:
    # Given a token with characters that need no escaping, and one that does
    link = LINKS.verify_recovery("aslp", "1c9a3e5f-7b2d-4f6a-8c1e-3d5b7a9c1e2f", "ab-_C9")
    odd = LINKS.verify_recovery("aslp", "p", "a+b&c=d")
    # Then the parameters sit in the fragment, never in the query, and parse back
    assert link == (
        "https://app.example.test/account-recovery/verify#compact=aslp"
        "&providerId=1c9a3e5f-7b2d-4f6a-8c1e-3d5b7a9c1e2f&recoveryToken=ab-_C9"
    )
    assert urlsplit(odd).query == ""
    assert parse_qs(urlsplit(odd).fragment)["recoveryToken"] == ["a+b&c=d"]


def test_the_invitation() -> None:
    message = emails.invitation("q@example.test", "Quillon", "Vantreska", "Pw1!x<&>", LINKS)
    assert (message.to, message.subject) == ("q@example.test", "Your provider account")
    assert message.text == (
        "Hello Quillon Vantreska,\n\n"
        "Your provider account has been created.\n\n"
        "Username: q@example.test\n"
        "Temporary password: Pw1!x<&>\n\n"
        "Sign in at https://app.example.test/sign-in with these details. You will choose a new "
        "password, and then set up multi-factor authentication (MFA) with an authenticator app "
        "on your phone.\n\n"
        "If you ever lose your MFA device, you can recover your account yourself at "
        "https://app.example.test/account-recovery.\n"
    )
    assert message.html == PAGE.format(
        title="Your provider account",
        body="<p>Hello Quillon Vantreska,</p>"
        "<p>Your provider account has been created.</p>"
        "<p>Username: q@example.test<br>Temporary password: Pw1!x&lt;&amp;&gt;</p>"
        f"<p>Sign in at {a('https://app.example.test/sign-in')} with these details. You will "
        "choose a new password, and then set up multi-factor authentication (MFA) with an "
        "authenticator app on your phone.</p>"
        "<p>If you ever lose your MFA device, you can recover your account yourself at "
        f"{a('https://app.example.test/account-recovery')}.</p>",
    )


def test_the_invitation_after_a_recovery() -> None:
    message = emails.invitation("q@example.test", "Q", "V", "Pw1!abcdefgh", LINKS, True)
    assert message.subject == "Your provider account was recovered"
    assert message.text == (
        "Hello Q V,\n\n"
        "Your account was recovered as requested: the previous password and MFA device no "
        "longer work. This is the new invitation email with a temporary password that you were "
        "promised when you confirmed the recovery.\n\n"
        "Username: q@example.test\n"
        "Temporary password: Pw1!abcdefgh\n\n"
        "Sign in at https://app.example.test/sign-in with these details. You will choose a new "
        "password, and then set up multi-factor authentication (MFA) with an authenticator app "
        "on your phone.\n\n"
        "If you ever lose your MFA device, you can recover your account yourself at "
        "https://app.example.test/account-recovery.\n\n"
        "If you did not ask to recover your account, someone knows your password and your "
        "license details. Sign in now with the temporary password above to take the account "
        "back, choose a new password you use nowhere else, and contact your compact's support.\n"
    )
    assert "<p>If you did not ask to recover your account" in message.html
    # And its sign-in steps are word for word those of the first invitation
    first = emails.invitation("q@example.test", "Q", "V", "Pw1!abcdefgh", LINKS)
    steps = [part.strip() for part in first.text.split("\n\n")[2:]]
    assert [part.strip() for part in message.text.split("\n\n")[2:5]] == steps


def test_the_registration_attempt_notice() -> None:
    message = emails.registration_attempt_notice("q@example.test", LINKS)
    assert (message.to, message.subject) == (
        "q@example.test",
        "Someone tried to register your provider account",
    )
    assert message.text == (
        "Hello,\n\n"
        "Someone just tried to register a provider account with this email address or with the "
        "license linked to your account. An account already exists, so nothing was changed.\n\n"
        "If it was you, sign in at https://app.example.test/sign-in. If you lost your MFA "
        "device, recover your account at https://app.example.test/account-recovery. If you "
        "forgot your password, contact your compact's support.\n\n"
        "If it was not you, you need not do anything: your account is unchanged.\n"
    )
    assert (
        f"<p>If it was you, sign in at {a('https://app.example.test/sign-in')}. If you lost your "
        f"MFA device, recover your account at {a('https://app.example.test/account-recovery')}. "
        "If you forgot your password, contact your compact&#x27;s support.</p>"
    ) in message.html


def test_the_registration_attempt_notice_of_a_locked_account() -> None:
    message = emails.registration_attempt_on_locked_notice("q@example.test")
    assert (message.to, message.subject) == (
        "q@example.test",
        "Someone tried to register your provider account",
    )
    assert message.text == (
        "Hello,\n\n"
        "Someone just tried to register a provider account with the license linked to your "
        "account. Your account is locked, so nothing was changed.\n\n"
        "If it was you: a locked account cannot be registered, signed in to or recovered until "
        "your compact's support unlocks it. Contact them: once they have checked who you are, "
        "they unlock it for you.\n\n"
        "If it was not you, you need not do anything: your account stays locked.\n"
    )
    assert "http" not in message.html  # no sign-in or recovery link: neither would work


def test_the_recovery_confirmation() -> None:
    link = LINKS.verify_recovery("aslp", "p-1", "tok_en-9")
    not_me = LINKS.not_me("aslp", "p-1", "can.cel")
    message = emails.recovery_confirmation(
        "q@example.test", "Quillon", link, 15, LINKS, not_me=not_me
    )
    assert (message.to, message.subject) == ("q@example.test", "Confirm account recovery")
    assert message.text == (
        "Hello Quillon,\n\n"
        "We received a request to recover your provider account because its multi-factor "
        "authentication (MFA) device was lost. To confirm, open this link:\n\n"
        "https://app.example.test/account-recovery/verify#compact=aslp&providerId=p-1"
        "&recoveryToken=tok_en-9\n\n"
        "The link expires in 15 minutes and works once. Confirming replaces your account's "
        "sign-in: you will get a new temporary password by email, then choose a new password "
        "and set up MFA on a new device.\n\n"
        "If you did not ask for this, do not open the link above. Stop the recovery with this "
        "link instead (it works for 7 days):\n\nhttps://app.example.test/account-recovery/not-me"
        "#compact=aslp&providerId=p-1&cancelToken=can.cel\n\n"
        "Someone else knows your password: sign in at https://app.example.test/sign-in and "
        "change it now on your account page.\n"
    )
    escaped = (
        "https://app.example.test/account-recovery/verify#compact=aslp&amp;providerId=p-1"
        "&amp;recoveryToken=tok_en-9"
    )
    assert f"<p>{a(escaped)}</p>" in message.html
    assert (
        f"sign in at {a('https://app.example.test/sign-in')} and change it now on your account "
        "page.</p>"
    ) in message.html


@pytest.mark.parametrize("name", ["<script>alert(1)</script>", 'O"Brien & <b>'])
def test_names_are_escaped_in_html(name: str) -> None:
    message = emails.invitation("q@example.test", name, "V", "Pw1!abcdefgh", LINKS)
    assert name in message.text
    assert name not in message.html
    assert "<script" not in message.html
    assert "<b>" not in message.html


@pytest.mark.parametrize("punctuation", [".", ",", ";", ":", "!", "?", ")"])
def test_sentence_punctuation_after_a_url_is_not_linked(punctuation: str) -> None:
    # Given a link that ends a sentence in a mail
    text = f"Go to https://app.example.test/sign-in{punctuation} Then rest."
    # Then the anchor's target stops before the punctuation
    assert emails._linkify(text) == (
        f"Go to {a('https://app.example.test/sign-in')}{punctuation} Then rest."
    )


CC_LINKS = emails.Links("https://cc.example.test/", emails.link_templates("compactconnect", {}))


def test_the_compactconnect_style_links_to_its_router() -> None:
    # Given a token with characters that must be escaped in a query string
    link = CC_LINKS.verify_recovery("aslp", "1c9a3e5f-7b2d-4f6a-8c1e-3d5b7a9c1e2f", "a+b&c=d/e")

    # Then sign-in, recovery start and the verify link are CompactConnect's routes
    assert CC_LINKS.sign_in == "https://cc.example.test/Dashboard?bypass=login-practitioner"
    assert CC_LINKS.account_recovery == "https://cc.example.test/MfaResetStart"
    assert link == (
        "https://cc.example.test/Dashboard?bypass=recovery-practitioner&compact=aslp"
        "&providerId=1c9a3e5f-7b2d-4f6a-8c1e-3d5b7a9c1e2f&recoveryId=a%2Bb%26c%3Dd%2Fe"
    )
    # And the query string parses back to the three values, the fragment stays empty
    parts = urlsplit(link)
    assert parts.fragment == ""
    assert parse_qs(parts.query) == {
        "bypass": ["recovery-practitioner"],
        "compact": ["aslp"],
        "providerId": ["1c9a3e5f-7b2d-4f6a-8c1e-3d5b7a9c1e2f"],
        "recoveryId": ["a+b&c=d/e"],
    }


def test_a_template_override_replaces_one_link_of_the_style() -> None:
    # Given a frontend with its own verify route and the compactconnect style otherwise
    templates = emails.link_templates(
        "compactconnect", {"verify_recovery": "{ui}/r/{compact}/{providerId}?t={token}"}
    )
    links = emails.Links("https://other.example.test", templates)

    # Then only that link changes, and every value is URL-encoded
    assert links.verify_recovery("coun", "p q", "x/y?z") == (
        "https://other.example.test/r/coun/p%20q?t=x%2Fy%3Fz"
    )
    assert links.sign_in == "https://other.example.test/Dashboard?bypass=login-practitioner"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"not_a_link": "{ui}/x"}, "unknown email link kind(s): not_a_link"),
        ({"sign_in": "{ui}/x?t={token}"}, "'sign_in' has unknown placeholder(s): token"),
        ({"verify_recovery": "{ui}/v#{recoveryToken}"}, "unknown placeholder(s): recoveryToken"),
    ],
)
def test_an_unusable_override_is_refused_naming_it(overrides: dict, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        emails.link_templates("fragment", overrides)


def test_emails_carry_the_compactconnect_links() -> None:
    # Given the compactconnect style, When the invitation is written
    message = emails.invitation("q@example.test", "Quillon", "Vantreska", "Pw1", CC_LINKS)

    # Then its sign-in and recovery links are CompactConnect's pages, linked whole in HTML
    assert "Sign in at https://cc.example.test/Dashboard?bypass=login-practitioner with" in (
        message.text
    )
    assert "yourself at https://cc.example.test/MfaResetStart.\n" in message.text
    assert a("https://cc.example.test/Dashboard?bypass=login-practitioner") in message.html


@pytest.mark.parametrize(
    "to",
    [
        "quillon@example.test\r\nBcc: x@example.test",
        "quillon@example.test\nBcc: x@example.test",
        "quillon@example.test,x@example.test",
        "quillon@example.test; x@example.test",
        "Quillon <quillon@example.test>",
        "quillon@example.test x@example.test",
        "no-at-sign.example.test",
        0,
    ],
)
def test_a_message_goes_to_exactly_one_plain_address(to: object) -> None:
    with pytest.raises(ValueError, match="exactly one plain address"):
        MailMessage(to=to, subject="s", text="t", html="h")  # type: ignore[arg-type]


def test_the_not_me_link_carries_its_parameters_in_the_fragment() -> None:
    # Given a token with a character that needs escaping
    link = LINKS.not_me("aslp", "p-1", "a+b.c")
    # Then the page is the not-me page and nothing but the fragment carries the token
    parts = urlsplit(link)
    assert (parts.path, parts.query) == ("/account-recovery/not-me", "")
    assert parse_qs(parts.fragment) == {
        "compact": ["aslp"],
        "providerId": ["p-1"],
        "cancelToken": ["a+b.c"],
    }


def test_the_completion_notice() -> None:
    not_me = LINKS.not_me("aslp", "p-1", "can.cel")
    message = emails.recovery_completed_notice(
        "q@example.test",
        "Quillon",
        "2025-03-04 09:30 UTC",
        "203.0.113.9",
        "Firefox on Linux",
        not_me,
    )
    assert (message.to, message.subject) == (
        "q@example.test",
        "Was it you? Your provider account was recovered",
    )
    assert message.text == (
        "Hello Quillon,\n\n"
        "Your provider account was just recovered after a lost multi-factor authentication "
        "(MFA) device: its previous password and MFA device no longer work.\n\n"
        "When: 2025-03-04 09:30 UTC\nFrom the address: 203.0.113.9\nBrowser: Firefox on Linux"
        "\n\n"
        "If this was you, you need not do anything more: the invitation with your temporary "
        "password comes in a separate email.\n\n"
        "If this was not you, lock the account now with this link (it works for 7 days); "
        "nobody can then sign in or recover it until support unlocks it:\n\n"
        "https://app.example.test/account-recovery/not-me#compact=aslp&providerId=p-1"
        "&cancelToken=can.cel\n"
    )
    assert "When: 2025-03-04 09:30 UTC<br>From the address: 203.0.113.9<br>" in message.html


def test_the_cancelled_and_locked_notices() -> None:
    cancelled = emails.recovery_cancelled_notice("q@example.test", "Quillon", LINKS)
    assert (cancelled.to, cancelled.subject) == ("q@example.test", "Account recovery cancelled")
    assert cancelled.text == (
        "Hello Quillon,\n\n"
        "The recovery of your provider account was cancelled as you asked: its link no longer "
        "works, and your password and MFA device are unchanged.\n\n"
        "Whoever asked for the recovery knew your password. Sign in at "
        "https://app.example.test/sign-in and change it now on your account page, to one you "
        "use nowhere else.\n"
    )
    locked = emails.account_locked_notice("q@example.test", "Quillon")
    assert (locked.to, locked.subject) == ("q@example.test", "Your provider account is locked")
    assert locked.text == (
        "Hello Quillon,\n\n"
        "As you asked, your provider account is locked: the recovered sign-in is disabled, "
        "every session is ended, and nobody can recover the account.\n\n"
        "Contact your compact's support: once they have checked who you are, they unlock the "
        "account for you.\n"
    )
