"""Caps on the mail the service sends, counted in the rate-limit table like other limits.

Registration mails whoever a request names, so without caps anyone could make the service
mail an address again and again. Suppressed mail is logged and counted, never told to the
caller: the answer (and its timing) is the same either way.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import timedelta

from core.metrics import MAIL_SUPPRESSED
from core.models import MailMessage, Provider
from core.ports import AttemptCounter, Clock, Mailer

log = logging.getLogger("provider_accounts.outcomes")


@dataclass(frozen=True)
class MailCapPolicy:
    """How much mail one address, or one license and address, may get per window."""

    window: timedelta = timedelta(hours=1)
    notices_per_recipient: int = 1
    invitations_per_license_and_address: int = 1


@dataclass(frozen=True)
class MailCaps:
    """Counts mail per recipient (notices) and per license and address (invitations)."""

    attempts: AttemptCounter
    clock: Clock
    policy: MailCapPolicy

    def send_notice(self, mailer: Mailer, message: MailMessage) -> None:
        """Send a notice unless its recipient already had its share within the window.

        Only notices sent are counted, so suppressed attempts cannot keep an address silent
        beyond the window that its last notice opened.
        """
        key = f"mail#notice#{_address_key(message.to)}"
        window = self._window_seconds()
        if self.attempts.count(key, self.clock(), window) >= self.policy.notices_per_recipient:
            _suppressed("notice")
            return
        mailer.send(message)
        self.attempts.record(key, self.clock(), window)

    def invitation_allowed(self, provider: Provider, email: str) -> bool:
        """Whether this license may still send an invitation to this address in the window."""
        window = self._window_seconds()
        sent = self.attempts.count(_invitation_key(provider, email), self.clock(), window)
        if sent >= self.policy.invitations_per_license_and_address:
            _suppressed("invitation")
            return False
        return True

    def invitation_sent(self, provider: Provider, email: str) -> None:
        """Count an invitation once its registration is committed, so failed tries spend none."""
        self.attempts.record(_invitation_key(provider, email), self.clock(), self._window_seconds())

    def _window_seconds(self) -> int:
        return int(self.policy.window.total_seconds())


def _address_key(email: str) -> str:
    # A digest, so that the rate-limit table holds no address in the clear.
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


def _invitation_key(provider: Provider, email: str) -> str:
    return f"mail#invitation#{provider.compact}#{provider.provider_id}#{_address_key(email)}"


def _suppressed(kind: str) -> None:
    MAIL_SUPPRESSED.labels(kind).inc()
    log.info(
        "mail suppressed outcome=%s_capped",
        kind,
        extra={"operation": "mail", "outcome": f"{kind}_capped"},
    )
