"""The emails the service sends, each with a plain-text and an HTML part."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from string import Formatter
from urllib.parse import quote

from core.models import MailMessage

# Punctuation ending a sentence is not part of its URL: "sign in at https://x/sign-in." must
# link to /sign-in, not to "/sign-in." (a page the frontend does not have).
_URL = re.compile(r"https?://[^\s<]*[^\s<.,;:!?)]")


# Every link an email carries, in each built-in style (EMAIL_LINK_STYLE): the one place the
# frontend's routes live, one entry per kind of link. {ui} is UI_BASE_URL; any other
# placeholder is a value, URL-encoded. A template may use only the placeholders its kind's
# built-in templates use.
LINK_TEMPLATES: dict[str, dict[str, str]] = {
    "sign_in": {
        "fragment": "{ui}/sign-in",
        "compactconnect": "{ui}/Dashboard?bypass=login-practitioner",
    },
    "account_recovery": {
        "fragment": "{ui}/account-recovery",
        "compactconnect": "{ui}/MfaResetStart",
    },
    # The fragment style keeps the token out of requests, logs and Referer; CompactConnect's
    # router reads it from the query string (README states that trade-off).
    "verify_recovery": {
        "fragment": "{ui}/account-recovery/verify"
        "#compact={compact}&providerId={providerId}&recoveryToken={token}",
        "compactconnect": "{ui}/Dashboard?bypass=recovery-practitioner"
        "&compact={compact}&providerId={providerId}&recoveryId={token}",
    },
    # "Not me" in every recovery email (issue 13). CompactConnect has no such page yet: its
    # style names the route the reference pages' counterpart would take there.
    "not_me": {
        "fragment": "{ui}/account-recovery/not-me"
        "#compact={compact}&providerId={providerId}&cancelToken={token}",
        "compactconnect": "{ui}/MfaResetNotMe"
        "?compact={compact}&providerId={providerId}&cancelToken={token}",
    },
}


def link_templates(style: str, overrides: Mapping[str, str]) -> dict[str, str]:
    """A style's templates with overrides applied; ValueError names any unusable override."""
    unknown = sorted(set(overrides) - set(LINK_TEMPLATES))
    if unknown:
        raise ValueError(f"unknown email link kind(s): {', '.join(unknown)}")
    for kind, template in overrides.items():
        allowed = set().union(*map(_placeholders, LINK_TEMPLATES[kind].values()))
        extra = _placeholders(template) - allowed
        if extra:
            names = ", ".join(sorted(extra))
            raise ValueError(f"email link template {kind!r} has unknown placeholder(s): {names}")
    return {kind: styles[style] for kind, styles in LINK_TEMPLATES.items()} | dict(overrides)


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in Formatter().parse(template) if name is not None}


@dataclass(frozen=True)
class Links:
    """Where emails send people: pages of the frontend at UI_BASE_URL."""

    ui_base_url: str
    templates: Mapping[str, str] = field(default_factory=lambda: link_templates("fragment", {}))

    @property
    def sign_in(self) -> str:
        """The frontend's sign-in page."""
        return self.url("sign_in")

    @property
    def account_recovery(self) -> str:
        """The frontend's page that starts recovery after a lost MFA device."""
        return self.url("account_recovery")

    def verify_recovery(self, compact: str, provider_id: str, token: str) -> str:
        """The one-time confirmation link of a recovery."""
        return self.url("verify_recovery", compact=compact, providerId=provider_id, token=token)

    def url(self, kind: str, **values: str) -> str:
        """The link of this kind, its values URL-encoded."""
        encoded = {name: quote(value, safe="") for name, value in values.items()}
        return self.templates[kind].format(ui=self.ui_base_url.rstrip("/"), **encoded)

    def not_me(self, compact: str, provider_id: str, token: str) -> str:
        """The "Not me" link of a recovery email: cancels, or locks what was recovered."""
        return self.url("not_me", compact=compact, providerId=provider_id, token=token)


def invitation(
    to: str,
    given_name: str,
    family_name: str,
    temporary_password: str,
    links: Links,
    after_recovery: bool = False,
) -> MailMessage:
    """The invitation with the username and a temporary password."""
    opening = (
        "Your account was recovered as requested: the previous password and MFA device no "
        "longer work. This is the new invitation email with a temporary password that you were "
        "promised when you confirmed the recovery."
        if after_recovery
        else "Your provider account has been created."
    )
    paragraphs = [
        f"Hello {given_name} {family_name},",
        opening,
        f"Username: {to}\nTemporary password: {temporary_password}",
        f"Sign in at {links.sign_in} with these details. You will choose a new password, and "
        "then set up multi-factor authentication (MFA) with an authenticator app on your phone.",
        "If you ever lose your MFA device, you can recover your account yourself at "
        f"{links.account_recovery}.",
    ]
    if after_recovery:
        paragraphs.append(
            "If you did not ask to recover your account, someone knows your password and your "
            "license details. Sign in now with the temporary password above to take the account "
            "back, choose a new password you use nowhere else, and contact your compact's support."
        )
    subject = "Your provider account was recovered" if after_recovery else "Your provider account"
    return _message(to, subject, paragraphs)


def registration_attempt_notice(to: str, links: Links) -> MailMessage:
    """Tells an account holder that someone tried to register with their license or email."""
    return _message(
        to,
        "Someone tried to register your provider account",
        [
            "Hello,",
            "Someone just tried to register a provider account with this email address or with "
            "the license linked to your account. An account already exists, so nothing was "
            "changed.",
            f"If it was you, sign in at {links.sign_in}. If you lost your MFA device, recover "
            f"your account at {links.account_recovery}. If you forgot your password, contact "
            "your compact's support.",
            "If it was not you, you need not do anything: your account is unchanged.",
        ],
    )


def registration_attempt_on_locked_notice(to: str) -> MailMessage:
    """Tells the holder of a locked account that someone tried to register it again."""
    return _message(
        to,
        "Someone tried to register your provider account",
        [
            "Hello,",
            "Someone just tried to register a provider account with the license linked to your "
            "account. Your account is locked, so nothing was changed.",
            "If it was you: a locked account cannot be registered, signed in to or recovered "
            "until your compact's support unlocks it. Contact them: once they have checked who "
            "you are, they unlock it for you.",
            "If it was not you, you need not do anything: your account stays locked.",
        ],
    )


def recovery_confirmation(
    to: str,
    given_name: str,
    link: str,
    expires_minutes: int,
    links: Links,
    not_me: str,
    usable_from: str | None = None,
) -> MailMessage:
    """The one-time link that confirms an account recovery, and the "Not me" link."""
    lifetime = (
        f"The link expires in {_minutes(expires_minutes)} and works once."
        if usable_from is None
        else f"For your safety the link works only from {usable_from}, then for "
        f"{_minutes(expires_minutes)}, and once."
    )
    return _message(
        to,
        "Confirm account recovery",
        [
            f"Hello {given_name},",
            "We received a request to recover your provider account because its multi-factor "
            "authentication (MFA) device was lost. To confirm, open this link:",
            link,
            f"{lifetime} Confirming replaces your account's sign-in: you will get a new "
            "temporary password by email, then choose a new password and set up MFA on a new "
            "device.",
            "If you did not ask for this, do not open the link above. Stop the recovery with "
            "this link instead (it works for 7 days):",
            not_me,
            "Someone else knows your password: sign in at "
            f"{links.sign_in} and change it now on your account page.",
        ],
    )


def recovery_completed_notice(
    to: str, given_name: str, when: str, ip: str | None, browser: str, not_me: str
) -> MailMessage:
    """Tells every address of record that the account was recovered, from where, and how to undo."""
    return _message(
        to,
        "Was it you? Your provider account was recovered",
        [
            f"Hello {given_name},",
            "Your provider account was just recovered after a lost multi-factor authentication "
            "(MFA) device: its previous password and MFA device no longer work.",
            f"When: {when}\nFrom the address: {ip or 'unknown'}\nBrowser: {browser}",
            "If this was you, you need not do anything more: the invitation with your temporary "
            "password comes in a separate email.",
            "If this was not you, lock the account now with this link (it works for 7 days); "
            "nobody can then sign in or recover it until support unlocks it:",
            not_me,
        ],
    )


def recovery_cancelled_notice(to: str, given_name: str, links: Links) -> MailMessage:
    """Confirms a "Not me" before completion, and says why to change the password."""
    return _message(
        to,
        "Account recovery cancelled",
        [
            f"Hello {given_name},",
            "The recovery of your provider account was cancelled as you asked: its link no "
            "longer works, and your password and MFA device are unchanged.",
            "Whoever asked for the recovery knew your password. Sign in at "
            f"{links.sign_in} and change it now on your account page, to one you use nowhere "
            "else.",
        ],
    )


def account_locked_notice(to: str, given_name: str) -> MailMessage:
    """Confirms a "Not me" after completion: the account is locked until support unlocks it."""
    return _message(
        to,
        "Your provider account is locked",
        [
            f"Hello {given_name},",
            "As you asked, your provider account is locked: the recovered sign-in is disabled, "
            "every session is ended, and nobody can recover the account.",
            "Contact your compact's support: once they have checked who you are, they unlock "
            "the account for you.",
        ],
    )


def _minutes(count: int) -> str:
    return f"{count} minute" if count == 1 else f"{count} minutes"


def _message(to: str, subject: str, paragraphs: list[str]) -> MailMessage:
    text = "\n\n".join(paragraphs) + "\n"
    body = "".join(f"<p>{_linkify(p)}</p>" for p in paragraphs)
    page = (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(subject)}</title></head><body>{body}</body></html>"
    )
    return MailMessage(to=to, subject=subject, text=text, html=page)


def _linkify(paragraph: str) -> str:
    pieces: list[str] = []
    last = 0
    for match in _URL.finditer(paragraph):
        pieces.append(html.escape(paragraph[last : match.start()]))
        url = html.escape(match.group(0))
        pieces.append(f'<a href="{url}">{url}</a>')
        last = match.end()
    pieces.append(html.escape(paragraph[last:]))
    return "".join(pieces).replace("\n", "<br>")
