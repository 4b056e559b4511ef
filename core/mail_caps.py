"""Caps on the mail the service sends, held in the rate-limit table like other limits.

Registration mails whoever a request names, so without caps anyone could make the service
mail an address again and again. Suppressed mail is logged and counted, never told to the
caller: the answer (and its timing) is the same either way.

A mail first reserves one of its key's slots by a conditional write, so that requests
arriving together cannot all pass the cap; the reservation holds for a short lease while the
mail is on its way, and for the whole window once the mail went out. A failed mail frees its
slot, so that failed tries spend nothing and the provider can retry at once; one whose slot
could not be freed waits out the lease only.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import timedelta

from core.errors import ServiceError
from core.metrics import MAIL_SUPPRESSED
from core.models import MailMessage, Provider, Reservation
from core.ports import AttemptCounter, Clock, Mailer

log = logging.getLogger(__name__)
outcome_log = logging.getLogger("provider_accounts.outcomes")


@dataclass(frozen=True)
class MailCapPolicy:
    """How much mail one address, or one license and address, may get per window."""

    window: timedelta = timedelta(hours=1)
    notices_per_recipient: int = 1
    invitations_per_license_and_address: int = 1
    # As long as a registration may hold its claim: the work that sends the mail fits in it.
    lease: timedelta = timedelta(seconds=60)


@dataclass(frozen=True)
class MailCaps:
    """Caps mail per recipient (notices) and per license and address (invitations)."""

    attempts: AttemptCounter
    clock: Clock
    policy: MailCapPolicy

    def send_notice(self, mailer: Mailer, message: MailMessage) -> None:
        """Send a notice unless its recipient already had its share within the window.

        Only notices sent are counted, so suppressed attempts cannot keep an address silent
        beyond the window that its last notice opened.
        """
        key = f"mail#notice#{_address_key(message.to)}"
        reservation = self._reserve(key, self.policy.notices_per_recipient, "notice")
        if reservation is None:
            return
        try:
            mailer.send(message)
        except BaseException:
            self.release(reservation)
            raise
        self.confirm(reservation)

    def reserve_invitation(self, provider: Provider, email: str) -> Reservation | None:
        """Hold one of the invitations this license may send to this address; None if capped.

        The caller confirms it once the registration is committed, or releases it.
        """
        cap = self.policy.invitations_per_license_and_address
        return self._reserve(_invitation_key(provider, email), cap, "invitation")

    def confirm(self, reservation: Reservation) -> None:
        """Count a reservation for its whole window: its mail went out."""
        try:
            self.attempts.confirm(reservation, reservation.taken_at + self.policy.window)
        except ServiceError:
            # The mail went out and its work stands; the slot frees when its lease ends.
            log.error("could not count a mail against its cap")

    def release(self, reservation: Reservation) -> None:
        """Free a reservation whose mail (or registration) failed: failed tries spend nothing."""
        try:
            self.attempts.release(reservation)
        except ServiceError:
            # The caller's own failure matters more; the slot frees when its lease ends.
            log.error("could not free a mail's reservation; it lapses at the end of its lease")

    def _reserve(self, key: str, cap: int, kind: str) -> Reservation | None:
        now = self.clock()
        hold = min(self.policy.lease, self.policy.window)
        reservation = self.attempts.reserve(key, now, cap, now + hold)
        if reservation is None:
            _suppressed(kind)
        return reservation


def _address_key(email: str) -> str:
    # A digest, so that the rate-limit table holds no address in the clear.
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


def _invitation_key(provider: Provider, email: str) -> str:
    return f"mail#invitation#{provider.compact}#{provider.provider_id}#{_address_key(email)}"


def _suppressed(kind: str) -> None:
    MAIL_SUPPRESSED.labels(kind).inc()
    outcome_log.info(
        "mail suppressed outcome=%s_capped",
        kind,
        extra={"operation": "mail", "outcome": f"{kind}_capped"},
    )
