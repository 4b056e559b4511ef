"""Reading the outbox: the messages, their temporary passwords and recovery links."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from email import policy
from email.parser import BytesParser
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from tests.support.leaks import remember

_TEMP_PASSWORD = re.compile(r"^Temporary password: (\S+)$", re.MULTILINE)
# The verify link of either built-in style (core/emails.py LINK_TEMPLATES).
_RECOVERY_LINK = re.compile(
    r"(https?://\S+(?:/account-recovery/verify#|/Dashboard\?bypass=recovery-practitioner&)\S+)"
)
_NOT_ME_LINK = re.compile(r"(https?://\S+(?:/account-recovery/not-me#|/MfaResetNotMe\?)\S+)")


@dataclass(frozen=True)
class Mail:
    """One .eml file of the outbox."""

    path: Path
    to: str
    subject: str
    text: str
    html: str

    @property
    def temporary_password(self) -> str:
        """The password on the 'Temporary password:' line."""
        match = _TEMP_PASSWORD.search(self.text)
        assert match, f"no temporary password in {self.subject!r}"
        return remember(match.group(1))

    @property
    def recovery_link(self) -> str:
        """The verify link of a recovery confirmation."""
        match = _RECOVERY_LINK.search(self.text)
        assert match, f"no recovery link in {self.subject!r}"
        return match.group(1)

    @property
    def recovery_params(self) -> dict[str, str]:
        """compact, providerId and recoveryToken, from the link's fragment or query string."""
        parts = urlsplit(self.recovery_link)
        params = {k: v[0] for k, v in parse_qs(parts.fragment or parts.query).items()}
        params.pop("bypass", None)
        if "recoveryId" in params:  # CompactConnect's name for the token
            params["recoveryToken"] = params.pop("recoveryId")
        remember(params["recoveryToken"])
        return params

    @property
    def not_me_link(self) -> str:
        """The "Not me" link of a recovery email."""
        match = _NOT_ME_LINK.search(self.text)
        assert match, f"no Not me link in {self.subject!r}"
        return match.group(1)

    @property
    def not_me_params(self) -> dict[str, str]:
        """compact, providerId and cancelToken, from the link's fragment or query string."""
        parts = urlsplit(self.not_me_link)
        params = {k: v[0] for k, v in parse_qs(parts.fragment or parts.query).items()}
        remember(params["cancelToken"])
        return params


def read_outbox(directory: Path) -> list[Mail]:
    """Every message in the outbox, oldest first."""
    if not directory.exists():
        return []
    return [_read(path) for path in sorted(directory.glob("*.eml"))]


def _read(path: Path) -> Mail:
    message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
    text_part = message.get_body(preferencelist=("plain",))
    html_part = message.get_body(preferencelist=("html",))
    return Mail(
        path=path,
        to=str(message["To"]),
        subject=str(message["Subject"]),
        text=text_part.get_content() if text_part else "",
        html=html_part.get_content() if html_part else "",
    )


def sent_by_ses(region: str) -> list[Mail]:
    """What was sent through moto's SES, in-process or by a ThreadedMotoServer of this process.

    moto keeps only the HTML part of a message, so the text is the HTML's visible text with
    each link's address written out.
    """
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    return [
        Mail(
            path=Path("ses"),
            to=message.destinations["ToAddresses"][0],
            subject=message.subject,
            text=_visible_text(message.body),
            html=message.body,
        )
        for message in ses_backends[DEFAULT_ACCOUNT_ID][region].sent_messages
    ]


def _visible_text(page: str) -> str:
    with_links = re.sub(r'<a [^>]*href="([^"]*)"[^>]*>', r" \1 ", page)
    return html.unescape(re.sub(r"<[^>]+>", " ", with_links))
